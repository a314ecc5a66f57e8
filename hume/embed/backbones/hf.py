"""transformers vision backbones: ``dinov2`` (ViT-g/14), ``dinov2-s|-b|-l`` and any ``hf:REPO``
(a hub repo or a local directory).

Feature ``cls`` is the pooled output (DINOv2: the layer-normed CLS token); ``cls+mean`` appends
the mean patch token (the DINOv2 linear-evaluation feature; register tokens are skipped) and names
the store ``<name>-clsmean``. DINOv2 uses its own protocol (resize 256 bicubic, centre crop 224,
ImageNet statistics); other repos their image processor. Weights come from the hub cache
(downloaded when online), or ``weights=``: a ``save_pretrained`` directory or downloaded snapshot.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hume.core.errors import HumeError, setting
from hume.core.names import safe_name
from hume.core.versions import library_versions
from hume.embed.backbones import hub
from hume.embed.backbones.backbone import Backbone, FeatureKind, ToRGB, probe_dim
from hume.embed.backbones.backbone_registry import register_backbone, register_backbone_prefix

#: Registered name -> Hugging Face repository of a transformers DINOv2 backbone.
DINOV2_MODELS: dict[str, str] = {
    "dinov2": "facebook/dinov2-giant",
    "dinov2-s": "facebook/dinov2-small",
    "dinov2-b": "facebook/dinov2-base",
    "dinov2-l": "facebook/dinov2-large",
}
FEATURES = (FeatureKind.cls, FeatureKind.cls_mean)
#: model types whose first token is a CLS token, so ``cls+mean`` makes sense
_CLS_TOKEN_MODELS = (
    "dinov2",
    "dinov2_with_registers",
    "vit",
    "deit",
    "clip_vision_model",
    "siglip_vision_model",
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _named(
    repo: str, spec: str, *, weights: Path | None, feature: FeatureKind, **_: Any
) -> Backbone:
    return hf_backbone(spec, repo, weights, feature)


for _name, _repo in DINOV2_MODELS.items():
    register_backbone(_name, features=FEATURES)(functools.partial(_named, _repo))


@register_backbone_prefix(
    "hf:", pattern="hf:REPO", example="hf:facebook/dinov2-small", features=FEATURES
)
def _any_repo(spec: str, *, weights: Path | None, feature: FeatureKind, **_: Any) -> Backbone:
    if weights is None and Path(spec).expanduser().is_dir():  # hf:/local/dir
        weights = Path(spec).expanduser().resolve()
        name = "hf-" + weights.name
    else:
        name = "hf-" + spec.replace("/", "--")
    return hf_backbone(safe_name("model", name), spec, weights, feature)


@dataclass(frozen=True)
class HFFeature:
    """(module, batch) -> features of a transformers vision model.

    ``cls``: ``pooler_output`` when the model has one (DINOv2: layer-normed CLS), else the first
    token of ``last_hidden_state`` (or the spatial mean for convolutional maps).
    ``cls+mean``: CLS token ⊕ mean of the patch tokens, which start after the CLS and
    ``registers`` register tokens.
    """

    feature: FeatureKind = FeatureKind.cls
    registers: int = 0

    def __call__(self, module, batch):
        import torch

        out = module(pixel_values=batch)
        hidden = out.last_hidden_state
        pooled = getattr(out, "pooler_output", None)
        if self.feature == FeatureKind.cls:
            if pooled is not None:
                return pooled.flatten(1)
            return hidden[:, 0] if hidden.dim() == 3 else hidden.flatten(2).mean(-1)
        cls = hidden[:, 0]
        patches = hidden[:, 1 + self.registers :].mean(dim=1)
        return torch.cat([cls, patches], dim=1)


def dinov2_transform(size: int = 224, resize: int = 256):
    """The DINOv2 evaluation transform: RGB, resize ``resize`` bicubic, centre crop ``size``,
    ImageNet mean/std; any PIL image or array in, a (3, size, size) tensor out."""
    from torchvision import transforms as T

    return T.Compose(
        [
            ToRGB(),
            T.Resize(resize, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(size),
            T.ToTensor(),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


@dataclass
class HFProcessorTransform:
    """One image -> (3, H, W) tensor through a transformers image processor."""

    processor: Any

    def __call__(self, sample):
        return self.processor(images=ToRGB()(sample), return_tensors="pt")["pixel_values"][0]


def _load(name: str, repo: str, weights: Path | None):
    """(model, config, where it came from) for a repo id or a local directory."""
    from transformers import AutoConfig, AutoModel

    src, local = (str(weights), True) if weights is not None else (repo, hub.offline())
    if weights is not None and not weights.is_dir():
        raise HumeError(
            f"{setting('weights')} for {name!r} must be a transformers model directory "
            f"(config.json + model.safetensors, from save_pretrained or a hub snapshot), "
            f"got the file {weights}"
        )
    try:
        config = AutoConfig.from_pretrained(src, local_files_only=local)
        if getattr(config, "vision_config", None) is not None and not hasattr(
            config, "hidden_size"
        ):
            config = config.vision_config  # a vision-language repo (e.g. CLIP): its image tower
            model = _vision_tower(AutoModel.from_pretrained(src, local_files_only=local))
        else:
            model = AutoModel.from_pretrained(src, local_files_only=local)
    except (OSError, ValueError) as exc:
        if weights is not None:
            raise HumeError(
                f"could not load transformers model {name!r} from {weights}: "
                f"{str(exc).splitlines()[0][:300]}; the directory needs config.json and the "
                "weights (save_pretrained output or a downloaded snapshot)"
            ) from exc
        raise hub.no_weights(
            name, f"transformers {repo}", repo, "", None if local else exc
        ) from exc
    return model, config, src


def _vision_tower(model):
    for attr in ("vision_model", "visual", "vision_tower"):
        if hasattr(model, attr):
            return getattr(model, attr)
    raise HumeError(f"{type(model).__name__} has no vision tower to embed images with")


def hf_backbone(name: str, repo: str, weights: Path | None, feature: FeatureKind) -> Backbone:
    """transformers model ``repo`` (or the directory ``weights``) as the backbone called
    ``name`` (``<name>-clsmean`` for ``cls+mean``)."""
    model, config, src = _load(name, repo, weights)
    model.eval()
    model_type = getattr(config, "model_type", "")
    registers = int(getattr(config, "num_register_tokens", 0) or 0)
    if hasattr(config, "hidden_size"):
        width = int(config.hidden_size)
    elif getattr(config, "hidden_sizes", None):
        width = int(config.hidden_sizes[-1])
    else:
        width = None
    if feature == FeatureKind.cls_mean and model_type not in _CLS_TOKEN_MODELS:
        raise HumeError(
            f"feature 'cls+mean' needs a ViT with a CLS token; {name!r} is {model_type!r}"
        )
    forward = HFFeature(feature, registers)
    if model_type.startswith("dinov2"):
        transform = dinov2_transform()
        prep = (
            f"{transform!r} (DINOv2 protocol: resize 256 bicubic, center crop 224, "
            f"ImageNet mean {IMAGENET_MEAN} std {IMAGENET_STD}); transformers position-embedding "
            "interpolation (differs slightly from torch.hub)"
        )
        kind = "pooler_output: layer-normed CLS token"
    else:
        transform, prep = _processor_transform(
            src, config, local=weights is not None or hub.offline()
        )
        kind = "pooler_output (CLS / pooled)"
    if feature == FeatureKind.cls_mean:
        kind = f"CLS token ⊕ mean patch token (patch tokens from index {1 + registers})"
    if width is None:
        width = probe_dim(model, forward, getattr(config, "image_size", 224))
    elif feature == FeatureKind.cls_mean:
        width *= 2
    revision = None if weights is not None else hub.revision(repo)
    info = {
        "model": f"transformers {type(model).__name__} ({repo})",
        "weights": str(weights)
        if weights is not None
        else f"{repo}@{revision or 'unknown-revision'}",
        "feature_kind": kind,
        "preprocessing": prep,
        "source": "transformers",
        "versions": library_versions("transformers", "torch", "torchvision"),
    }
    store_name = name if feature == FeatureKind.cls else f"{name}-clsmean"
    return Backbone(
        name=store_name, transform=transform, dim=width, info=info, module=model, forward=forward
    )


def _processor_transform(src: str, config, *, local: bool):
    """The repo's own image processor when it has one, else resize/crop to its image size."""
    try:
        from transformers import AutoImageProcessor

        processor = AutoImageProcessor.from_pretrained(src, local_files_only=local)
    except (OSError, ValueError, KeyError):
        processor = None
    if processor is not None:
        keep = (
            "size",
            "crop_size",
            "do_center_crop",
            "resample",
            "image_mean",
            "image_std",
            "do_rescale",
            "rescale_factor",
            "do_normalize",
        )
        desc = {k: v for k, v in processor.to_dict().items() if k in keep}
        return HFProcessorTransform(processor), f"{type(processor).__name__} {desc}"
    side = getattr(config, "image_size", 224)
    side = side[0] if isinstance(side, (tuple, list)) else int(side)
    transform = dinov2_transform(size=side, resize=int(round(side * 256 / 224)))
    return transform, f"{transform!r} (no image processor in the repo: ImageNet mean/std, bicubic)"
