"""What several test modules share (importable: pytest puts tests/ on sys.path): the command
line, assertions, planted views and small planted feature stores."""

import socket

import numpy as np


def invoke(*args, **kw):
    """``hume ARGS`` through typer's runner (every argument as a string); ``kw`` go to
    ``CliRunner.invoke`` (``input=``, ``env=``)."""
    from typer.testing import CliRunner

    from hume.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], **kw)


def planted_views(
    n=240,
    k=3,
    dims=(8, 12),
    sep=4.0,
    seed=0,
    *,
    scales=None,
    scale_range=None,
    ratio=None,
    shuffle=True,
    interleaved=False,
):
    """Views (float32, one per entry of ``dims``) in which one planted K-class labeling is
    linearly separable: class centres N(0, sep²) per view (``sep`` a number or one per view),
    unit noise, each view then times its entry of ``scales`` (or, with ``scale_range`` (lo, hi),
    times a scale drawn uniformly from it); (views, labels).

    Labels: balanced (``n // k`` rows per class, the first ``n % k`` classes one more), in blocks
    of a class (``interleaved``: 0, 1, …, K−1, 0, 1, …), then shuffled unless ``shuffle`` is
    False; with ``ratio``, drawn i.i.d. with class weights in geometric progression from
    ``ratio`` to 1 (``ratio=1``: uniform)."""
    rng = np.random.default_rng(seed)
    if ratio is not None:
        weights = np.geomspace(ratio, 1, k)
        y = rng.choice(k, size=n, p=weights / weights.sum())
    else:
        y = np.arange(n) % k if interleaved else np.sort(np.arange(n) % k)
        if shuffle:
            rng.shuffle(y)
    seps = sep if isinstance(sep, (tuple, list)) else (sep,) * len(dims)
    views = []
    for i, (d, s) in enumerate(zip(dims, seps)):
        centres = rng.normal(size=(k, d)) * s
        x = centres[y] + rng.normal(size=(n, d))
        if scales is not None:
            x = x * scales[i]
        x = x.astype(np.float32)
        if scale_range is not None:
            x = x * rng.uniform(*scale_range)
        views.append(x)
    return views, y


def assert_one_line_error(result, *fragments: str) -> None:
    """A CLI result that failed as bad input should: exit 2, one `error:` line, last, no
    traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    # progress lines (where no terminal shows bars) may come before it; the error is one line
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def import_array(tmp_path, root, dataset, split, model, x, y=None):
    """Import the array ``x`` (and labels ``y``) as the store (dataset, split, model)."""
    from hume.store.importing import import_features

    f = tmp_path / f"{dataset}-{split}-{model}.npy"
    np.save(f, x.astype(np.float32))
    labels = None
    if y is not None:
        labels = tmp_path / f"{dataset}-{split}-{model}-y.npy"
        np.save(labels, y)
    import_features(dataset, split, model, f, labels, root=str(root))


def planted_stores(
    tmp_path, splits=(("train", 90), ("test", 30)), dataset="blobs", seed=0, root=None
):
    """Views ``va`` (6 dims) and ``vb`` (9 dims) of a planted 3-class labeling, per split, under
    ``root`` (default ``tmp_path/ws``); (root, true labels per split)."""
    rng = np.random.default_rng(seed)
    root = tmp_path / "ws" if root is None else root
    centres = {m: rng.normal(size=(3, d)) * 4 for m, d in (("va", 6), ("vb", 9))}
    truth = {}
    for split, n in splits:
        y = rng.integers(0, 3, size=n)
        truth[split] = y
        for model, c in centres.items():
            x = c[y] + rng.normal(size=(n, c.shape[1]))
            import_array(tmp_path, root, dataset, split, model, x, y)
    return root, truth


def free_port() -> int:
    """A TCP port free on this machine now (for a process group's MASTER_PORT)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
