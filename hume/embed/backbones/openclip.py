"""open_clip backbones: ``clip``, ``clip-b32``, ``clip-b16``, ``clip-h14`` and any
``open_clip:ARCH/TAG`` pair or ``open_clip:hf-hub:REPO``.

The feature is the image embedding (visual tower output, projected, not normalised); only the
image tower is kept. OpenAI's weights were trained with QuickGELU, so their names use the
``-quickgelu`` architectures. Weights come from the hub cache (downloaded when online), or
``weights=``: a checkpoint file or an open_clip directory (``open_clip_config.json`` + checkpoint).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from hume.core.errors import HumeError, setting
from hume.core.names import safe_name
from hume.core.versions import library_versions
from hume.embed.backbones import hub
from hume.embed.backbones.backbone import Backbone, ToRGB, probe_dim
from hume.embed.backbones.backbone_registry import register_backbone, register_backbone_prefix

#: Registered name -> (open_clip architecture, pretrained tag).
OPEN_CLIP_MODELS: dict[str, tuple[str, str]] = {
    "clip": ("ViT-L-14-quickgelu", "openai"),
    "clip-b32": ("ViT-B-32-quickgelu", "openai"),
    "clip-b16": ("ViT-B-16-quickgelu", "openai"),
    "clip-h14": ("ViT-H-14", "laion2b_s32b_b79k"),
}
_HF_HUB = "hf-hub:"


def _named(arch: str, tag: str, spec: str, *, weights: Path | None, **_: Any) -> Backbone:
    return open_clip_backbone(spec, arch, tag, weights)


for _name, (_arch, _tag) in OPEN_CLIP_MODELS.items():
    register_backbone(_name)(functools.partial(_named, _arch, _tag))


@register_backbone_prefix(
    "open_clip:" + _HF_HUB,
    pattern="open_clip:hf-hub:REPO",
    example="open_clip:hf-hub:timm/ViT-B-16-SigLIP",
)
def _hub_repo(spec: str, *, weights: Path | None, **_: Any) -> Backbone:
    """A hub repo holding ``open_clip_config.json`` and its checkpoint."""
    repo = spec.strip("/")
    name = safe_name("model", "open_clip-" + repo.replace("/", "--"))
    return open_clip_backbone(name, _HF_HUB + repo, None, weights or _hub_dir(name, repo))


@register_backbone_prefix(
    "open_clip:", pattern="open_clip:ARCH/TAG", example="open_clip:ViT-B-32/openai"
)
def _arch_tag(spec: str, *, weights: Path | None, **unused: Any) -> Backbone:
    arch, _, tag = spec.partition("/")
    if not arch:
        raise HumeError(
            "open_clip models are named open_clip:ARCH/TAG, e.g. open_clip:ViT-B-32/openai"
        )
    name = safe_name("model", "open_clip-" + arch + (f"-{tag}" if tag else ""))
    return open_clip_backbone(name, arch, tag or None, weights)


def _forward(module, batch):
    return module(batch)


def _checkpoint(name: str, arch: str, tag: str, cfg: dict) -> str:
    """Local path of the checkpoint of (arch, tag): from the caches, or downloaded when online."""
    import open_clip

    hub_id = cfg.get("hf_hub", "")
    repo, filename = os.path.split(hub_id) if hub_id else ("", "")
    if not hub.offline():
        try:
            return open_clip.download_pretrained(cfg)
        except Exception as exc:  # noqa: BLE001 - any download failure becomes one clear message
            raise hub.no_weights(name, f"open_clip {arch} / {tag}", repo, filename, exc) from exc
    from huggingface_hub import try_to_load_from_cache

    names = (
        [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    )
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
    raise hub.no_weights(name, f"open_clip {arch} / {tag}", repo, filename, None)


def _hub_dir(name: str, repo: str) -> Path:
    """Local snapshot directory of open_clip hub repo ``repo`` (downloaded when online)."""
    if not hub.offline():
        from huggingface_hub import hf_hub_download
        from open_clip.pretrained import download_pretrained_from_hf

        try:  # the config, then the weights (safetensors preferred): one snapshot directory
            config = Path(hf_hub_download(repo, "open_clip_config.json"))
            download_pretrained_from_hf(repo)
            return config.parent
        except Exception as exc:  # noqa: BLE001 - any download failure becomes one clear message
            raise hub.no_weights(name, f"open_clip hf-hub:{repo}", repo, "", exc) from exc
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(repo, "open_clip_config.json")
    if not isinstance(hit, str):
        raise hub.no_weights(name, f"open_clip hf-hub:{repo}", repo, "", None)
    return Path(hit).parent


def _checkpoint_in(weights: Path) -> Path:
    """The checkpoint file ``weights`` names, or the one inside directory ``weights``."""
    if weights.is_file():
        return weights
    for fname in (
        "open_clip_model.safetensors",
        "open_clip_pytorch_model.bin",
        "model.safetensors",
        "pytorch_model.bin",
        "model.pth",
        "model.pt",
    ):
        if (weights / fname).is_file():
            return weights / fname
    found = sorted(
        p for ext in ("*.safetensors", "*.bin", "*.pt", "*.pth") for p in weights.glob(ext)
    )
    if len(found) == 1:
        return found[0]
    raise HumeError(
        f"no single open_clip checkpoint in {weights}: give the checkpoint file itself "
        f"({setting('weights', 'FILE.pt/.bin/.safetensors')}) or a directory with "
        "open_clip_config.json"
    )


def open_clip_backbone(name: str, arch: str, tag: str | None, weights: Path | None) -> Backbone:
    """The image tower of open_clip ``arch`` with pretrained ``tag`` (or ``weights``), as the
    backbone (and store) called ``name``."""
    import open_clip

    kwargs: dict[str, Any] = {}
    model_name = arch
    if weights is not None and weights.is_dir() and (weights / "open_clip_config.json").is_file():
        model_name, checkpoint = (
            f"local-dir:{weights}",
            None,
        )  # config and preprocessing from the dir
        source = str(weights)
    else:
        if arch not in open_clip.list_models():
            raise HumeError(
                f"unknown open_clip architecture {arch!r}: see open_clip.list_models() "
                "(e.g. ViT-B-32, ViT-L-14-quickgelu)"
            )
        cfg = open_clip.get_pretrained_cfg(arch, tag) if tag else {}
        if tag and not cfg and weights is None:
            tags = open_clip.list_pretrained_tags_by_model(arch)
            none = f"(none: pass {setting('weights', 'FILE')})"
            raise HumeError(
                f"open_clip {arch} has no pretrained tag {tag!r}: use one of "
                f"{', '.join(tags) if tags else none}"
            )
        if weights is None and not tag:
            raise HumeError(
                f"open_clip:{arch} needs a pretrained tag (open_clip:{arch}/TAG) or "
                f"{setting('weights', 'FILE')}"
            )
        checkpoint = (
            str(_checkpoint_in(weights))
            if weights is not None
            else _checkpoint(name, arch, tag or "", cfg)
        )
        source = (
            f"{tag} ({cfg.get('hf_hub') or cfg.get('url')}{hub.snapshot_of(checkpoint)})"
            if cfg and weights is None
            else checkpoint
        )
        if cfg:  # a checkpoint path skips the tag's preprocessing and activation: pass them
            kwargs.update(
                image_mean=cfg["mean"],
                image_std=cfg["std"],
                image_interpolation=cfg.get("interpolation"),
                image_resize_mode=cfg.get("resize_mode"),
            )
            if cfg.get("quick_gelu") and not arch.endswith("-quickgelu"):
                kwargs["force_quick_gelu"] = True
    try:
        model, _, eval_transform = open_clip.create_model_and_transforms(
            model_name, pretrained=checkpoint, **kwargs
        )
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise HumeError(
            f"could not load model {name!r} ({arch}) from {source}: "
            f"{str(exc).splitlines()[0][:300]}"
        ) from exc
    visual = model.visual.eval()  # the text tower is never used: keep only the image tower
    del model
    from torchvision import transforms as T

    transform = T.Compose([ToRGB(), *getattr(eval_transform, "transforms", [eval_transform])])
    dim = getattr(visual, "output_dim", None) or probe_dim(visual, _forward, visual.image_size)
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
        "versions": library_versions("open_clip_torch", "torch", "torchvision"),
    }
    return Backbone(
        name=name, transform=transform, dim=int(dim), info=info, module=visual, forward=_forward
    )
