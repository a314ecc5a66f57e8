"""Model registry: one short name -> a frozen backbone with its own preprocessing.

Names (``list_models()``; aliases such as ``dino`` resolve through :func:`hume.names.canonical_model`):

* ``clip`` (open_clip ViT-L-14 with OpenAI weights, built with QuickGELU as they were trained),
  ``clip-b32``, ``clip-b16`` (OpenAI, QuickGELU), ``clip-h14`` (ViT-H-14, LAION-2B
  ``laion2b_s32b_b79k``), and ``open_clip:ARCH/TAG`` for any open_clip pair. Feature: the image
  embedding (visual tower output, projected, not normalised).
* ``dinov2`` (ViT-g/14, ``facebook/dinov2-giant``), ``dinov2-s|-b|-l|-g`` through transformers,
  and ``hf:REPO`` for any transformers vision backbone. Feature ``cls`` (default) is the pooled
  output (DINOv2: the layer-normed CLS token); ``cls+mean`` appends the mean patch token (the
  DINOv2 linear-evaluation feature; register tokens are skipped) and names the store ``<name>-clsmean``.
* ``pixels`` and ``hog``: training-free classical views (:mod:`hume.embed.classical`).

Weights come from the Hugging Face cache, or ``weights=PATH``: an open_clip checkpoint file, an
open_clip directory (``open_clip_config.json`` + checkpoint), or a transformers directory
(``save_pretrained`` output / downloaded snapshot). With no weights reachable the loader raises
:class:`HumeError` saying what to download and where to put it, without waiting on retries.
"""

from __future__ import annotations

import functools
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from hume.embed.classical import CLASSICAL_VIEWS, classical_spec
from hume.errors import HumeError
from hume.names import canonical_model, check_name

#: Short name -> (open_clip architecture, pretrained tag).
OPEN_CLIP_MODELS: dict[str, tuple[str, str]] = {
    "clip": ("ViT-L-14-quickgelu", "openai"),
    "clip-b32": ("ViT-B-32-quickgelu", "openai"),
    "clip-b16": ("ViT-B-16-quickgelu", "openai"),
    "clip-h14": ("ViT-H-14", "laion2b_s32b_b79k"),
}
#: Short name -> Hugging Face repository of a transformers DINOv2 backbone.
DINOV2_MODELS: dict[str, str] = {
    "dinov2": "facebook/dinov2-giant",
    "dinov2-s": "facebook/dinov2-small",
    "dinov2-b": "facebook/dinov2-base",
    "dinov2-l": "facebook/dinov2-large",
    "dinov2-g": "facebook/dinov2-giant",
}
#: Names that share weights with another name write the same store.
_SAME_AS = {"dinov2-g": "dinov2"}
FEATURES = ("cls", "cls+mean")
PATTERNS = ("open_clip:ARCH/TAG", "hf:REPO")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class Backbone:
    """A frozen feature extractor.

    ``transform`` maps one dataset sample to a tensor; a batch of those (stacked, on the module's
    device) goes through :meth:`encode` to a (B, D) float32 tensor. ``info`` holds the store
    attributes (model, weights, feature_kind, preprocessing, source, versions).
    """

    name: str
    transform: Callable
    dim: int
    info: dict
    module: Any = None  # torch.nn.Module in eval mode; None for classical views
    forward: Callable | None = field(default=None, repr=False)  # (module, batch) -> (B, ...)

    def encode(self, batch):
        """(B, ...) tensor -> (B, D) float32 features, without autograd."""
        import torch

        if self.module is None:
            return batch.reshape(batch.shape[0], -1).float()
        with torch.no_grad():
            out = self.forward(self.module, batch)
        return out.reshape(out.shape[0], -1).float()

    def to(self, device) -> "Backbone":
        """Move the module (if any) to ``device``; returns self."""
        if self.module is not None:
            self.module.to(device)
        return self

    @property
    def device(self):
        """Device of the module's parameters (cpu for classical views)."""
        import torch

        if self.module is None:
            return torch.device("cpu")
        return next(self.module.parameters()).device


def list_models() -> list[str]:
    """Every short model name (patterns ``open_clip:ARCH/TAG`` and ``hf:REPO`` come on top)."""
    return [*OPEN_CLIP_MODELS, *DINOV2_MODELS, *CLASSICAL_VIEWS]


def _unknown(name: str) -> HumeError:
    return HumeError(f"unknown model {name!r}: use one of {', '.join(list_models())}, "
                     f"or {' or '.join(PATTERNS)}")


def get_backbone(name: str, *, weights: str | os.PathLike | None = None, feature: str = "cls",
                 image_size: int | None = None) -> Backbone:
    """Build backbone ``name`` in eval mode on the CPU.

    ``weights``: local checkpoint file or directory instead of the hub cache. ``feature``:
    ``cls`` or ``cls+mean`` (transformers ViTs only). ``image_size``: working side of the
    classical views (default 32; pass a dataset's native side, e.g. 8 for digits).
    """
    if not isinstance(name, str) or not name.strip():
        raise _unknown(str(name))
    name = name.strip()
    if name.lower() in (*OPEN_CLIP_MODELS, *DINOV2_MODELS, *CLASSICAL_VIEWS, "dino"):
        name = name.lower()  # short names are case-blind; hub repos and paths are not
    name = canonical_model(name)
    if feature not in FEATURES:
        raise HumeError(f"unknown feature {feature!r}: use one of {', '.join(FEATURES)}")
    weights = _check_weights(weights)
    if name in CLASSICAL_VIEWS:
        if feature != "cls":
            raise HumeError(f"the {name} view has a single feature; drop feature={feature!r}")
        if weights is not None:
            raise HumeError(f"the {name} view is training-free and takes no weights; drop --weights")
        transform, dim, info = classical_spec(name, image_size)
        return Backbone(name=name, transform=transform, dim=dim, info=info)
    if name in OPEN_CLIP_MODELS:
        arch, tag = OPEN_CLIP_MODELS[name]
        return _open_clip_backbone(name, arch, tag, weights, feature)
    if name.startswith("open_clip:hf-hub:"):  # a hub repo holding open_clip_config.json
        repo = name[len("open_clip:hf-hub:"):].strip("/")
        return _open_clip_backbone(_safe("open_clip-" + repo.replace("/", "--")), f"hf-hub:{repo}",
                                   None, weights or _open_clip_hub_dir(name, repo), feature)
    if name.startswith("open_clip:"):
        arch, _, tag = name[len("open_clip:"):].partition("/")
        if not arch:
            raise HumeError("open_clip models are named open_clip:ARCH/TAG, e.g. open_clip:ViT-B-32/openai")
        store = "open_clip-" + arch + (f"-{tag}" if tag else "")
        return _open_clip_backbone(_safe(store), arch, tag or None, weights, feature)
    if name in DINOV2_MODELS:
        store = _SAME_AS.get(name, name)
        return _hf_backbone(store, DINOV2_MODELS[name], weights, feature)
    if name.startswith("hf:"):
        repo = name[3:].strip()
        if not repo:
            raise HumeError("transformers models are named hf:REPO, e.g. hf:facebook/dinov2-small")
        if weights is None and Path(repo).expanduser().is_dir():  # hf:/local/dir
            weights = Path(repo).expanduser().resolve()
            store = "hf-" + weights.name
        else:
            store = "hf-" + repo.replace("/", "--")
        return _hf_backbone(_safe(store), repo, weights, feature)
    raise _unknown(name)


def _safe(store: str) -> str:
    """Store name: path separators and odd characters replaced so it is one path component."""
    cleaned = "".join(c if c.isalnum() or c in "-_.+" else "-" for c in store).strip(".")
    while ".." in cleaned:
        cleaned = cleaned.replace("..", ".")
    return check_name("model", cleaned)


def _check_weights(weights) -> Path | None:
    if weights is None:
        return None
    path = Path(weights).expanduser()
    if not path.exists():
        raise HumeError(f"weights path {str(weights)!r} does not exist: give a checkpoint file or a "
                        "model directory")
    return path.resolve()


def _with_feature(name: str, feature: str) -> str:
    return name if feature == "cls" else f"{name}-clsmean"


# ---------------------------------------------------------------------------------------------
# Reaching the hub


@functools.lru_cache(maxsize=1)
def hub_offline() -> bool:
    """True when the Hugging Face hub cannot be used: HF_HUB_OFFLINE, or its host is unreachable.

    huggingface_hub retries an unreachable host for about 30 s before failing; one quick socket
    probe lets the loaders go straight to the local cache instead.
    """
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return True
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return False  # a proxy may reach what a direct socket cannot: let the hub client try
    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=3).close()
    except OSError:
        return True
    return False


def _hub_cache() -> str:
    from huggingface_hub import constants

    return constants.HF_HUB_CACHE


# ---------------------------------------------------------------------------------------------
# open_clip


def _open_clip_forward(module, batch):
    return module(batch)


class _ToRGB:
    """PIL image or array -> RGB PIL image (grey digits, RGBA and palette images included)."""

    def __call__(self, sample):
        import numpy as np
        from PIL import Image

        if not isinstance(sample, Image.Image):
            arr = np.asarray(sample)
            if arr.dtype != np.uint8:
                scale = 255.0 if arr.max(initial=0) <= 1.0 else 1.0
                arr = np.clip(arr * scale, 0, 255).round().astype(np.uint8)
            sample = Image.fromarray(arr)
        return sample if sample.mode == "RGB" else sample.convert("RGB")

    def __repr__(self) -> str:
        return "ToRGB()"


def _open_clip_checkpoint(name: str, arch: str, tag: str, cfg: dict) -> str:
    """Local path of the checkpoint of (arch, tag): from the caches, or downloaded when online."""
    import open_clip

    hub_id = cfg.get("hf_hub", "")
    repo, filename = os.path.split(hub_id) if hub_id else ("", "")
    if not hub_offline():
        try:
            return open_clip.download_pretrained(cfg)
        except Exception as exc:  # noqa: BLE001 - any download failure becomes one clear message
            raise _no_weights(name, f"open_clip {arch} / {tag}", repo, filename, exc) from None
    from huggingface_hub import try_to_load_from_cache

    names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    if filename.endswith((".bin", ".pth")):
        names.insert(0, filename[:-4] + ".safetensors")
    for fname in names if repo else []:
        hit = try_to_load_from_cache(repo, fname)
        if isinstance(hit, str):
            return hit
    url = cfg.get("url", "")
    if url:  # open_clip's own URL cache
        local = Path("~/.cache/clip").expanduser() / os.path.basename(url)
        if local.is_file():
            return str(local)
    raise _no_weights(name, f"open_clip {arch} / {tag}", repo, filename, None)


def _open_clip_hub_dir(name: str, repo: str) -> Path:
    """Local snapshot directory of open_clip hub repo ``repo`` (downloaded when online)."""
    if not hub_offline():
        from huggingface_hub import hf_hub_download
        from open_clip.pretrained import download_pretrained_from_hf

        try:  # the config, then the weights (safetensors preferred): one snapshot directory
            config = Path(hf_hub_download(repo, "open_clip_config.json"))
            download_pretrained_from_hf(repo)
            return config.parent
        except Exception as exc:  # noqa: BLE001 - any download failure becomes one clear message
            raise _no_weights(name, f"open_clip hf-hub:{repo}", repo, "", exc) from None
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(repo, "open_clip_config.json")
    if not isinstance(hit, str):
        raise _no_weights(name, f"open_clip hf-hub:{repo}", repo, "", None)
    return Path(hit).parent


def _no_weights(name: str, what: str, repo: str, filename: str, exc: Exception | None) -> HumeError:
    why = "the Hugging Face hub is unreachable or offline (HF_HUB_OFFLINE)" if exc is None else \
        f"download failed: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}"
    fetch = f"`hf download {repo}{' ' + filename if filename else ''}`" if repo else "its checkpoint"
    return HumeError(
        f"no weights for model {name!r} ({what}): {why}. On a machine with internet run {fetch} "
        f"and copy the Hugging Face cache to {_hub_cache()} (or set HF_HOME), or pass --weights "
        "PATH (a checkpoint file or model directory)")


def _open_clip_backbone(name: str, arch: str, tag: str | None, weights: Path | None,
                        feature: str) -> Backbone:
    import open_clip

    if feature != "cls":
        raise HumeError(f"open_clip models give one image embedding; feature={feature!r} is only "
                        "for transformers ViTs (dinov2, hf:REPO)")
    kwargs: dict[str, Any] = {}
    model_name = arch
    if weights is not None and weights.is_dir() and (weights / "open_clip_config.json").is_file():
        model_name, checkpoint = f"local-dir:{weights}", None  # config and preprocessing from the dir
        source = str(weights)
    else:
        if arch not in open_clip.list_models():
            raise HumeError(f"unknown open_clip architecture {arch!r}: see open_clip.list_models() "
                            "(e.g. ViT-B-32, ViT-L-14-quickgelu)")
        cfg = open_clip.get_pretrained_cfg(arch, tag) if tag else {}
        if tag and not cfg and weights is None:
            tags = open_clip.list_pretrained_tags_by_model(arch)
            raise HumeError(f"open_clip {arch} has no pretrained tag {tag!r}: use one of "
                            f"{', '.join(tags) if tags else '(none: pass --weights FILE)'}")
        if weights is None and not tag:
            raise HumeError(f"open_clip:{arch} needs a pretrained tag (open_clip:{arch}/TAG) or --weights FILE")
        checkpoint = str(_checkpoint_in(weights)) if weights is not None else \
            _open_clip_checkpoint(name, arch, tag, cfg)
        source = f"{tag} ({cfg.get('hf_hub') or cfg.get('url')}{_snapshot_of(checkpoint)})" \
            if cfg and weights is None else checkpoint
        if cfg:  # a checkpoint path skips the tag's preprocessing and activation: pass them
            kwargs.update(image_mean=cfg["mean"], image_std=cfg["std"],
                          image_interpolation=cfg.get("interpolation"),
                          image_resize_mode=cfg.get("resize_mode"))
            if cfg.get("quick_gelu") and not arch.endswith("-quickgelu"):
                kwargs["force_quick_gelu"] = True
    try:
        model, _, eval_transform = open_clip.create_model_and_transforms(
            model_name, pretrained=checkpoint, **kwargs)
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise HumeError(f"could not load model {name!r} ({arch}) from {source}: "
                        f"{str(exc).splitlines()[0][:300]}") from None
    visual = model.visual.eval()  # the text tower is never used: keep only the image tower
    del model
    from torchvision import transforms as T

    transform = T.Compose([_ToRGB(), *getattr(eval_transform, "transforms", [eval_transform])])
    dim = getattr(visual, "output_dim", None) or _probe_dim(visual, _open_clip_forward, visual.image_size)
    pp = dict(visual.preprocess_cfg)
    info = {
        "model": f"open_clip {arch}" + (f" / {tag}" if tag else ""),
        "weights": source,
        "feature_kind": "image embedding (open_clip visual tower output, projected, not L2-normalised)",
        "preprocessing": f"{transform!r}; resize_mode={pp.get('resize_mode')}, "
                         f"interpolation={pp.get('interpolation')}, mean={tuple(pp.get('mean', ()))}, "
                         f"std={tuple(pp.get('std', ()))}",
        "source": "open_clip",
        "quick_gelu": bool(kwargs.get("force_quick_gelu") or "quickgelu" in arch),
        "versions": _versions("open_clip_torch", "torch", "torchvision"),
    }
    return Backbone(name=name, transform=transform, dim=int(dim), info=info, module=visual,
                    forward=_open_clip_forward)


def _snapshot_of(path: str) -> str:
    """``@<commit>`` when ``path`` lies in a Hugging Face cache snapshot, else empty."""
    p = Path(path)
    return f"@{p.parent.name}" if p.parent.parent.name == "snapshots" else ""


def _checkpoint_in(weights: Path) -> Path:
    """The checkpoint file ``weights`` names, or the one inside directory ``weights``."""
    if weights.is_file():
        return weights
    for fname in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin", "model.safetensors",
                  "pytorch_model.bin", "model.pth", "model.pt"):
        if (weights / fname).is_file():
            return weights / fname
    found = sorted(p for ext in ("*.safetensors", "*.bin", "*.pt", "*.pth") for p in weights.glob(ext))
    if len(found) == 1:
        return found[0]
    raise HumeError(f"no single open_clip checkpoint in {weights}: give the checkpoint file itself "
                    "(--weights FILE.pt/.bin/.safetensors) or a directory with open_clip_config.json")


def _probe_dim(module, forward, image_size) -> int:
    import torch

    side = image_size[0] if isinstance(image_size, (tuple, list)) else int(image_size)
    with torch.no_grad():
        out = forward(module, torch.zeros(1, 3, side, side))
    return int(out.reshape(1, -1).shape[1])


# ---------------------------------------------------------------------------------------------
# transformers


@dataclass(frozen=True)
class HFFeature:
    """(module, batch) -> features of a transformers vision model.

    ``cls``: ``pooler_output`` when the model has one (DINOv2: layer-normed CLS), else the first
    token of ``last_hidden_state`` (or the spatial mean for convolutional maps).
    ``cls+mean``: CLS token ⊕ mean of the patch tokens, which start after the CLS and
    ``registers`` register tokens.
    """

    feature: str = "cls"
    registers: int = 0

    def __call__(self, module, batch):
        import torch

        out = module(pixel_values=batch)
        hidden = out.last_hidden_state
        pooled = getattr(out, "pooler_output", None)
        if self.feature == "cls":
            if pooled is not None:
                return pooled.flatten(1)
            return hidden[:, 0] if hidden.dim() == 3 else hidden.flatten(2).mean(-1)
        cls = hidden[:, 0]
        patches = hidden[:, 1 + self.registers:].mean(dim=1)
        return torch.cat([cls, patches], dim=1)


def _dinov2_transform(size: int = 224, resize: int = 256):
    from torchvision import transforms as T

    return T.Compose([
        _ToRGB(),
        T.Resize(resize, interpolation=T.InterpolationMode.BICUBIC),
        T.CenterCrop(size),
        T.ToTensor(),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])


@dataclass
class HFProcessorTransform:
    """One image -> (3, H, W) tensor through a transformers image processor."""

    processor: Any

    def __call__(self, sample):
        return self.processor(images=_ToRGB()(sample), return_tensors="pt")["pixel_values"][0]


def _load_hf(name: str, repo: str, weights: Path | None):
    """(model, config, where it came from) for a repo id or a local directory."""
    from transformers import AutoConfig, AutoModel

    src, local = (str(weights), True) if weights is not None else (repo, hub_offline())
    if weights is not None and not weights.is_dir():
        raise HumeError(f"--weights for {name!r} must be a transformers model directory "
                        f"(config.json + model.safetensors, from save_pretrained or a hub snapshot), "
                        f"got the file {weights}")
    try:
        config = AutoConfig.from_pretrained(src, local_files_only=local)
        if getattr(config, "vision_config", None) is not None and not hasattr(config, "hidden_size"):
            config = config.vision_config  # a vision-language repo (e.g. CLIP): its image tower
            model = _vision_tower(AutoModel.from_pretrained(src, local_files_only=local))
        else:
            model = AutoModel.from_pretrained(src, local_files_only=local)
    except (OSError, ValueError) as exc:
        if weights is not None:
            raise HumeError(f"could not load transformers model {name!r} from {weights}: "
                            f"{str(exc).splitlines()[0][:300]}; the directory needs config.json and the "
                            "weights (save_pretrained output or a downloaded snapshot)") from None
        raise _no_weights(name, f"transformers {repo}", repo, "", None if local else exc) from None
    return model, config, src


def _vision_tower(model):
    for attr in ("vision_model", "visual", "vision_tower"):
        if hasattr(model, attr):
            return getattr(model, attr)
    raise HumeError(f"{type(model).__name__} has no vision tower to embed images with")


def _hf_backbone(name: str, repo: str, weights: Path | None, feature: str) -> Backbone:
    model, config, src = _load_hf(name, repo, weights)
    model.eval()
    model_type = getattr(config, "model_type", "")
    registers = int(getattr(config, "num_register_tokens", 0) or 0)
    if hasattr(config, "hidden_size"):
        width = int(config.hidden_size)
    elif getattr(config, "hidden_sizes", None):
        width = int(config.hidden_sizes[-1])
    else:
        width = None
    if feature == "cls+mean" and model_type not in ("dinov2", "dinov2_with_registers", "vit", "deit",
                                                    "clip_vision_model", "siglip_vision_model"):
        raise HumeError(f"feature 'cls+mean' needs a ViT with a CLS token; {name!r} is {model_type!r}")
    forward = HFFeature(feature, registers)
    if model_type.startswith("dinov2"):
        transform = _dinov2_transform()
        prep = (f"{transform!r} (DINOv2 protocol: resize 256 bicubic, center crop 224, "
                f"ImageNet mean {IMAGENET_MEAN} std {IMAGENET_STD}); transformers position-embedding "
                "interpolation (differs slightly from torch.hub)")
        kind = "pooler_output: layer-normed CLS token"
    else:
        transform, prep = _hf_transform(src, config, local=weights is not None or hub_offline())
        kind = "pooler_output (CLS / pooled)"
    if feature == "cls+mean":
        kind = f"CLS token ⊕ mean patch token (patch tokens from index {1 + registers})"
    if width is None:
        width = _probe_dim(model, forward, getattr(config, "image_size", 224))
    elif feature == "cls+mean":
        width *= 2
    revision = None if weights is not None else _hub_revision(repo)
    info = {
        "model": f"transformers {type(model).__name__} ({repo})",
        "weights": str(weights) if weights is not None else f"{repo}@{revision or 'unknown-revision'}",
        "feature_kind": kind,
        "preprocessing": prep,
        "source": "transformers",
        "versions": _versions("transformers", "torch", "torchvision"),
    }
    return Backbone(name=_with_feature(name, feature), transform=transform, dim=width, info=info,
                    module=model, forward=forward)


def _hub_revision(repo: str) -> str | None:
    """Commit hash of the cached snapshot of ``repo`` that was loaded (None if unknown)."""
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(repo, "config.json")
    if isinstance(hit, str) and Path(hit).parent.parent.name == "snapshots":
        return Path(hit).parent.name
    return None


def _hf_transform(src: str, config, *, local: bool):
    """The repo's own image processor when it has one, else resize/crop to its image size."""
    try:
        from transformers import AutoImageProcessor

        processor = AutoImageProcessor.from_pretrained(src, local_files_only=local)
    except (OSError, ValueError, KeyError):
        processor = None
    if processor is not None:
        keep = ("size", "crop_size", "do_center_crop", "resample", "image_mean", "image_std",
                "do_rescale", "rescale_factor", "do_normalize")
        desc = {k: v for k, v in processor.to_dict().items() if k in keep}
        return HFProcessorTransform(processor), f"{type(processor).__name__} {desc}"
    side = getattr(config, "image_size", 224)
    side = side[0] if isinstance(side, (tuple, list)) else int(side)
    transform = _dinov2_transform(size=side, resize=int(round(side * 256 / 224)))
    return transform, f"{transform!r} (no image processor in the repo: ImageNet mean/std, bicubic)"


def _versions(*names: str) -> dict[str, str]:
    from importlib import metadata

    out = {}
    for lib in names:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            pass
    return out
