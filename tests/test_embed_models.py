"""Backbone registry: tiny random-weight backbones saved to disk and loaded back through
create_backbone; names, aliases and the classical views."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from hume.core.errors import HumeError
from hume.embed.backbones import create_backbone, hub, list_backbones, openclip

TINY_CLIP = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
}


def _images(n=3, size=(40, 50), seed=0):
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)) for _ in range(n)]


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A registered tiny open_clip config, its random model, and its state dict saved to a file."""
    import open_clip

    d = tmp_path_factory.mktemp("oc")
    (d / "hume-tiny.json").write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(d / "hume-tiny.json")
    torch.manual_seed(0)
    model = open_clip.create_model("hume-tiny").eval()
    torch.save(model.state_dict(), d / "w.pt")
    return model, d


@pytest.fixture(scope="module")
def tiny_dino(tmp_path_factory):
    from transformers import Dinov2Config, Dinov2Model

    d = tmp_path_factory.mktemp("dino")
    torch.manual_seed(0)
    model = Dinov2Model(
        Dinov2Config(
            hidden_size=32, num_hidden_layers=2, num_attention_heads=2, image_size=56, patch_size=14
        )
    ).eval()
    model.save_pretrained(d)
    return model, d


def _batch(bb, images):
    return torch.stack([bb.transform(im) for im in images])


def test_open_clip_checkpoint_file_loads_its_weights(tiny_clip):
    model, d = tiny_clip
    bb = create_backbone("open_clip:hume-tiny", weights=d / "w.pt")
    assert bb.name == "open_clip-hume-tiny"
    assert bb.dim == 16 and not bb.module.training
    x = _batch(bb, _images())
    assert x.shape == (3, 3, 32, 32)
    feats = bb.encode(x)
    assert feats.shape == (3, 16) and feats.dtype == torch.float32
    with torch.no_grad():
        expected = model.encode_image(x)
    torch.testing.assert_close(feats, expected)  # the saved weights, not a fresh random init
    torch.testing.assert_close(bb.encode(x), feats)  # deterministic (eval mode, no dropout)
    info = bb.info
    assert info["source"] == "open_clip" and info["weights"] == str(d / "w.pt")
    assert "CenterCrop" in info["preprocessing"] and "Normalize" in info["preprocessing"]
    assert {"model", "feature_kind", "versions"} <= info.keys() and "torch" in info["versions"]


def test_open_clip_local_dir_with_config(tiny_clip, tmp_path):
    model, d = tiny_clip
    (tmp_path / "open_clip_config.json").write_text(
        json.dumps(
            {
                "model_cfg": TINY_CLIP,
                "preprocess_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
            }
        )
    )
    torch.save(model.state_dict(), tmp_path / "open_clip_pytorch_model.bin")
    bb = create_backbone("open_clip:anything", weights=tmp_path)
    x = _batch(bb, _images(2))
    with torch.no_grad():
        torch.testing.assert_close(bb.encode(x), model.encode_image(x))
    assert "0.5" in bb.info["preprocessing"]


def test_tag_preprocessing_and_quickgelu_applied_to_checkpoint_file(tiny_clip, monkeypatch):
    """A checkpoint path skips open_clip's per-tag settings: the registry must pass them itself."""
    import open_clip
    from open_clip.transformer import QuickGELU

    _, d = tiny_clip
    cfg = {
        "hf_hub": "org/repo/",
        "mean": (0.5, 0.5, 0.5),
        "std": (0.25, 0.25, 0.25),
        "interpolation": "bilinear",
        "resize_mode": "shortest",
        "quick_gelu": True,
    }
    real = open_clip.get_pretrained_cfg
    monkeypatch.setattr(
        open_clip,
        "get_pretrained_cfg",
        lambda arch, tag: cfg if (arch, tag) == ("hume-tiny", "faketag") else real(arch, tag),
    )
    bb = create_backbone("open_clip:hume-tiny/faketag", weights=d / "w.pt")
    assert bb.name == "open_clip-hume-tiny-faketag"
    assert bb.info["quick_gelu"] is True
    assert any(isinstance(m, QuickGELU) for m in bb.module.modules())
    norm = bb.transform.transforms[-1]
    assert tuple(norm.mean) == (0.5, 0.5, 0.5) and tuple(norm.std) == (0.25, 0.25, 0.25)


def test_registry_clip_names_use_quickgelu_for_openai_weights():
    import open_clip

    for name in ("clip", "clip-b32", "clip-b16"):
        arch, tag = openclip.OPEN_CLIP_MODELS[name]
        assert tag == "openai" and arch.endswith("-quickgelu")
        assert open_clip.get_pretrained_cfg(arch, tag), (arch, tag)
    arch, tag = openclip.OPEN_CLIP_MODELS["clip-h14"]
    assert arch.startswith("ViT-H-14") and open_clip.get_pretrained_cfg(arch, tag)


def test_dinov2_from_saved_dir(tiny_dino):
    model, d = tiny_dino
    bb = create_backbone("dinov2-s", weights=d)
    assert bb.name == "dinov2-s" and bb.dim == 32 and not bb.module.training
    x = _batch(bb, _images())
    assert x.shape == (3, 3, 224, 224)
    feats = bb.encode(x)
    with torch.no_grad():
        expected = model(pixel_values=x).pooler_output
    torch.testing.assert_close(feats, expected)
    torch.testing.assert_close(bb.encode(x), feats)
    assert bb.info["source"] == "transformers" and bb.info["weights"] == str(d)
    assert "256" in bb.info["preprocessing"] and "224" in bb.info["preprocessing"]
    assert "bicubic" in bb.info["preprocessing"] and "0.485" in bb.info["preprocessing"]


def test_dinov2_cls_plus_mean(tiny_dino):
    model, d = tiny_dino
    cls = create_backbone("dino", weights=d)
    both = create_backbone("dino", weights=d, feature="cls+mean")
    assert cls.name == "dinov2" and both.name == "dinov2-clsmean" and both.dim == 64
    x = _batch(both, _images(2))
    f = both.encode(x)
    with torch.no_grad():
        hidden = model(pixel_values=x).last_hidden_state
    assert f.shape == (2, 64)
    torch.testing.assert_close(f[:, :32], cls.encode(x))
    torch.testing.assert_close(f[:, 32:], hidden[:, 1:].mean(1))


def test_registers_are_skipped_in_patch_mean(tmp_path):
    from transformers import Dinov2WithRegistersConfig, Dinov2WithRegistersModel

    model = Dinov2WithRegistersModel(
        Dinov2WithRegistersConfig(
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=56,
            patch_size=14,
            num_register_tokens=4,
        )
    ).eval()
    model.save_pretrained(tmp_path / "reg")
    bb = create_backbone(f"hf:{tmp_path / 'reg'}", feature="cls+mean")
    assert bb.name == "hf-reg-clsmean" and bb.dim == 64
    x = _batch(bb, _images(2))
    with torch.no_grad():
        hidden = model(pixel_values=x).last_hidden_state
    torch.testing.assert_close(bb.encode(x)[:, 32:], hidden[:, 5:].mean(1))


def test_neural_transform_accepts_grey_digits():
    from hume.embed.backbones.hf import dinov2_transform

    digit = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8) * 4, mode="L")
    assert dinov2_transform()(digit).shape == (3, 224, 224)
    assert dinov2_transform()(np.asarray(digit)).shape == (3, 224, 224)


def test_classical_views():
    from skimage.feature import hog

    digit = Image.fromarray(
        np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8), mode="L"
    )
    px = create_backbone("pixels", image_size=8)
    assert px.dim == 64 and px.module is None
    v = px.transform(digit)
    assert (
        v.shape == (64,)
        and abs(float(v.mean())) < 1e-5
        and abs(float(v.std(unbiased=False)) - 1) < 1e-3
    )
    hg = create_backbone("hog", image_size=8)  # upsampled to 32 px: 4x4 cells of 8 px
    assert hg.dim == 324 and hg.info["image_size"] == 32
    grey32 = np.asarray(digit.resize((32, 32), Image.BILINEAR), dtype=np.float32) / 255
    ref32 = hog(
        grey32, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), block_norm="L2-Hys"
    )
    h = hg.transform(digit)
    np.testing.assert_allclose(h.numpy(), ref32, rtol=1e-5, atol=1e-6)
    out = hg.encode(torch.stack([h, h]))
    assert out.shape == (2, 324) and out.dtype == torch.float32
    hg64 = create_backbone("hog", image_size=64)
    assert (
        hg64.dim
        == hog(
            np.zeros((64, 64)), orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2)
        ).size
    )
    # default working size: any image becomes 32x32 grey, widths fixed before any image is seen
    big_px, big_hog = create_backbone("pixels"), create_backbone("hog")
    img = _images(1, size=(70, 90))[0]
    assert big_px.transform(img).shape == (big_px.dim,) == (1024,)
    assert big_hog.transform(img).shape == (big_hog.dim,)
    assert big_px.info["source"] == "classical" and big_px.info["image_size"] == 32


def test_bad_names_and_options(tmp_path):
    with pytest.raises(HumeError, match="unknown model 'resnet-nope'.*dinov2.*clip"):
        create_backbone("resnet-nope")
    with pytest.raises(HumeError, match="feature"):
        create_backbone("dinov2", feature="avg")
    with pytest.raises(HumeError, match="does not exist"):
        create_backbone("dinov2", weights=tmp_path / "missing")
    with pytest.raises(HumeError, match="cls\\+mean"):
        create_backbone("clip", feature="cls+mean")
    with pytest.raises(HumeError, match="could not load transformers model"):
        create_backbone("dinov2-s", weights=tmp_path)  # an empty directory
    with pytest.raises(HumeError, match="no pretrained tag"):
        create_backbone("open_clip:ViT-B-32/no-such-tag")
    with pytest.raises(HumeError, match="unknown open_clip architecture"):
        create_backbone("open_clip:ViT-Nope/openai")
    with pytest.raises(HumeError, match="takes no weights"):
        create_backbone("hog", weights=tmp_path)
    assert create_backbone("PIXELS", image_size=8).name == "pixels"  # short names are case-blind
    assert {
        "clip",
        "clip-b32",
        "clip-b16",
        "clip-h14",
        "dinov2",
        "dinov2-s",
        "pixels",
        "hog",
    } <= set(list_backbones())


def test_open_clip_hub_repo_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(hub, "offline", lambda: True)
    with pytest.raises(HumeError, match="hume-test/not-a-repo.*weights=PATH") as caught:
        create_backbone("open_clip:hf-hub:hume-test/not-a-repo")
    assert "or pass --weights PATH" in caught.value.as_flags()


def test_offline_hub_cache_and_unreachable_weights(tiny_dino, tmp_path):
    """HF_HUB_OFFLINE=1 with a pre-filled cache (as on an air-gapped cluster): a cached name loads
    with its revision; uncached names fail at once with a one-line HumeError naming the repo."""
    import shutil

    _, d = tiny_dino
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = tmp_path / "hf" / "hub" / "models--facebook--dinov2-small"
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(revision)
    shutil.copytree(d, repo_dir / "snapshots" / revision)
    code = (
        "import time, torch\n"
        "from hume.embed.backbones import create_backbone\n"
        "from hume.core.errors import HumeError\n"
        "bb = create_backbone('dinov2-s')\n"
        "print('RESULT', bb.name, bb.dim, bb.info['weights'], bb.module.training,"
        " tuple(bb.encode(torch.zeros(1, 3, 56, 56)).shape))\n"
        "for name in ('dinov2-b', 'clip-b32'):\n"
        "    t0 = time.monotonic()\n"
        "    try:\n"
        "        create_backbone(name)\n"
        "    except HumeError as e:\n"
        "        print('HUMEERROR', round(time.monotonic() - t0, 1), e)\n"
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180
    )
    assert res.returncode == 0, res.stderr[-2000:]
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("RESULT"))
    assert line.split()[1:] == [
        "dinov2-s",
        "32",
        f"facebook/dinov2-small@{revision}",
        "False",
        "(1,",
        "32)",
    ]
    errors = [ln.split(" ", 2) for ln in res.stdout.splitlines() if ln.startswith("HUMEERROR")]
    assert len(errors) == 2, res.stdout + res.stderr[-2000:]
    (_, t_dino, dino), (_, t_clip, clip) = errors
    assert "facebook/dinov2-base" in dino and "pass weights=PATH" in dino
    assert "timm/vit_base_patch32_clip_224.openai" in clip and str(tmp_path / "hf") in clip
    assert float(t_dino) < 10 and float(t_clip) < 10  # no download retries


def test_open_clip_tag_from_offline_hub_cache(tiny_clip, tmp_path, monkeypatch):
    """A tag's checkpoint already in the hub cache loads offline, with the snapshot recorded."""
    import open_clip
    from huggingface_hub import constants
    from safetensors.torch import save_file

    model, _ = tiny_clip
    revision = "fedcba9876543210fedcba9876543210fedcba98"
    snap = tmp_path / "models--hume-test--tiny" / "snapshots" / revision
    snap.mkdir(parents=True)
    (snap.parent.parent / "refs").mkdir()
    (snap.parent.parent / "refs" / "main").write_text(revision)
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()},
        snap / "open_clip_model.safetensors",
    )
    cfg = {
        "hf_hub": "hume-test/tiny/",
        "mean": (0.5, 0.5, 0.5),
        "std": (0.5, 0.5, 0.5),
        "interpolation": "bicubic",
        "resize_mode": "shortest",
    }
    real = open_clip.get_pretrained_cfg
    monkeypatch.setattr(
        open_clip,
        "get_pretrained_cfg",
        lambda arch, tag: cfg if (arch, tag) == ("hume-tiny", "cached") else real(arch, tag),
    )
    monkeypatch.setattr(hub, "offline", lambda: True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    bb = create_backbone("open_clip:hume-tiny/cached")
    assert bb.info["weights"] == f"cached (hume-test/tiny/@{revision})"
    x = _batch(bb, _images(2))
    with torch.no_grad():
        torch.testing.assert_close(bb.encode(x), model.encode_image(x))
    with pytest.raises(HumeError, match="hume-test/tiny"):  # same tag, empty cache
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
        create_backbone("open_clip:hume-tiny/cached")


def test_registry_lists_names_by_pattern_and_every_alias_resolves():
    from hume.core.names import ALIASES
    from hume.embed.backbones import backbone_patterns

    assert list_backbones("dinov2*") == ["dinov2", "dinov2-b", "dinov2-l", "dinov2-s"]
    assert list_backbones("clip-b*") == ["clip-b16", "clip-b32"]
    assert list_backbones() == sorted(list_backbones())
    assert {"open_clip:ARCH/TAG", "open_clip:hf-hub:REPO", "hf:REPO"} == set(backbone_patterns())
    for alias, name in ALIASES["model"].items():
        assert name in list_backbones() and alias not in list_backbones(), alias


def test_dinov2_g_is_an_alias_writing_the_dinov2_store(tiny_dino):
    _, d = tiny_dino
    assert create_backbone("dinov2-g", weights=d).name == "dinov2"
    assert create_backbone("DINOv2-G", weights=d, feature="cls+mean").name == "dinov2-clsmean"


def test_a_family_registers_itself_and_options_are_checked_for_it(monkeypatch):
    """The timm idiom: a decorated builder is a backbone; the registry checks feature and weights."""
    from hume.embed.backbones import FeatureKind
    from hume.embed.backbones import backbone_registry as registry
    from hume.embed.backbones.backbone import Backbone
    from hume.embed.name_registry import Registry

    monkeypatch.setattr(registry, "_BACKBONES", Registry("model"))
    built = []

    @registry.register_backbone("toy", takes_weights=False)
    def toy(spec, *, weights, feature, image_size):
        built.append((spec, weights, feature, image_size))
        return Backbone(name=spec, transform=torch.as_tensor, dim=3, info={})

    @registry.register_backbone_prefix(
        "toy:", pattern="toy:WIDTH", example="toy:4", features=tuple(FeatureKind)
    )
    def toy_width(spec, *, weights, feature, image_size):
        return Backbone(
            name=f"toy-{spec}-{feature}", transform=torch.as_tensor, dim=int(spec), info={}
        )

    assert create_backbone("TOY", image_size=5).dim == 3
    assert built == [("toy", None, FeatureKind.cls, 5)]
    assert create_backbone("toy:7", feature="cls+mean").name == "toy-7-cls+mean"
    assert list_backbones() == ["toy"]
    with pytest.raises(HumeError, match="'toy' gives only the cls feature.*toy:WIDTH"):
        create_backbone("toy", feature="cls+mean")
    with pytest.raises(HumeError, match="takes no weights"):
        create_backbone("toy", weights=__file__)
    with pytest.raises(HumeError, match="'toy:' is incomplete.*toy:WIDTH, e.g. toy:4"):
        create_backbone("toy:")
    with pytest.raises(HumeError, match="unknown model 'clip': use one of toy, or toy:WIDTH"):
        create_backbone("clip")


@pytest.mark.parametrize("size", [2, 8, 16, 31, 32, 33, 64])
def test_hog_always_uses_8_pixel_cells_on_at_least_32_pixels(size):
    """HOG raises the working size to 32 before anything else, so its cells are 8 px at every size."""
    from skimage.feature import hog

    from hume.embed.backbones.classical import hog_dim

    bb = create_backbone("hog", image_size=size)
    side = max(size, 32)
    img = Image.fromarray(
        np.random.default_rng(size).integers(0, 256, (size, size), dtype=np.uint8)
    )
    grey = np.asarray(img.resize((side, side), Image.BILINEAR), dtype=np.float32) / 255
    ref = hog(
        grey, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), block_norm="L2-Hys"
    )
    assert bb.info["image_size"] == side and "pixels_per_cell=(8, 8)" in bb.info["feature_kind"]
    assert bb.dim == hog_dim(side) == ref.size
    np.testing.assert_allclose(bb.transform(img).numpy(), ref, rtol=1e-5, atol=1e-6)


def test_store_names_from_hub_repos_and_folders_follow_one_rule(tmp_path):
    """`hf:/dir` (model) and `imagefolder:/dir` (dataset) make the same store name of one folder:
    unsafe characters become '-', runs of dots one dot."""
    from transformers import Dinov2Config, Dinov2Model

    from hume.core.names import safe_name
    from hume.embed.datasets import store_dataset_name

    folder = tmp_path / "my..odd dir"
    Dinov2Model(
        Dinov2Config(
            hidden_size=8, num_hidden_layers=1, num_attention_heads=2, image_size=28, patch_size=14
        )
    ).save_pretrained(folder)
    (folder / "cls").mkdir()
    assert (
        safe_name("model", "my..odd dir")
        == "my.odd-dir"
        == store_dataset_name(f"imagefolder:{folder}")
    )
    assert create_backbone(f"hf:{folder}").name == "hf-my.odd-dir"
    with pytest.raises(HumeError, match="empty"):
        safe_name("dataset", "...")
