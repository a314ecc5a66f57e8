# hume — every pipeline step is a target. Variables can be overridden: make search VIEWS=clip,dino
#   ROOT    workspace root (stores and runs)          default: ./hume-data
#   DEVICE  auto | cpu | cuda                          default: auto
#   SEEDS   number of search seeds                     default: 10
#   PRECISION fp32 | tf32 matrix products of the search on a GPU   default: fp32
#   MODEL   backbone for `make embed`                  default: dinov2
#   DATASET dataset name                               default: digits
#   VIEWS   comma-separated views, first is phi1       default: hog,pixels
#   RUN     run name for `make evaluate`               default: the newest run
PYTHON  ?= python3
VENV    ?= .venv
ROOT    ?= ./hume-data
DEVICE  ?= auto
SEEDS   ?= 10
PRECISION ?= fp32
MODEL   ?= dinov2
DATASET ?= digits
VIEWS   ?= hog,pixels
RUN     ?=
HUME    := $(VENV)/bin/hume
STAMP   := $(VENV)/.installed
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

.PHONY: help install lint test demo suite embed search evaluate info clean \
        reproduce-cifar10 reproduce-cifar100-20 reproduce-stl10 reproduce-imagenet

help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

install: $(STAMP) ## create .venv and install hume with its test extras (idempotent)

$(STAMP): pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	# torch and torchvision pinned together first, so open_clip cannot pull another torchvision
	$(VENV)/bin/python -m pip install -q -c constraints.txt $(TORCH_PINS)
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

lint: install ## ruff (lint + format check) and the type check of the package
	$(VENV)/bin/ruff check hume tests bench
	$(VENV)/bin/ruff format --check hume tests bench
	$(VENV)/bin/mypy

test: lint ## lint, type check and the whole test suite
	$(VENV)/bin/python -m pytest -q tests

demo: install ## the whole pipeline offline on scikit-learn's digits
	$(HUME) demo --root $(ROOT)

suite: install ## the development suite (bench/suite.py; about 30-35 min on 2 cores): installs its extra and Debian's fortunes
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e '.[suite]'
	test -d /usr/share/games/fortunes || (apt-get update -q && apt-get install -y -q fortunes)
	$(VENV)/bin/python bench/suite.py --results bench/RESULTS.md

embed: install ## embed DATASET with MODEL into ROOT
	$(HUME) embed --model $(MODEL) --dataset $(DATASET) --root $(ROOT) --device $(DEVICE)

search: install ## search a labeling over VIEWS of DATASET
	$(HUME) search --views $(VIEWS) --dataset $(DATASET) --seeds $(SEEDS) --root $(ROOT) --device $(DEVICE) --precision $(PRECISION)

evaluate: install ## evaluate RUN (default: the newest run)
	$(HUME) evaluate --root $(ROOT) $(if $(RUN),--run $(RUN),)

info: install ## list stores and runs under ROOT
	$(HUME) info --root $(ROOT)

# --- reproduction of the paper on a GPU machine with internet -------------------------------
# phi1 = DINOv2 ViT-g/14 (self-supervised; substitutes the paper's MoCo phi1, which has no public
# weights for every dataset), phi2 = CLIP ViT-L/14 (OpenAI). Official settings, 100 seeds, inductive.
PAPER_SEEDS ?= 100
PAPER_VIEWS ?= dinov2,clip

define reproduce
	$(HUME) embed --model dinov2 --dataset $(1) --root $(ROOT) --device $(DEVICE)
	$(HUME) embed --model clip --dataset $(1) --root $(ROOT) --device $(DEVICE)
	$(HUME) search --views $(PAPER_VIEWS) --dataset $(1) --preset $(2) --setting inductive --seeds $(PAPER_SEEDS) --device $(DEVICE) --precision $(PRECISION) --root $(ROOT) --run reproduce-$(1)
	$(HUME) evaluate --run reproduce-$(1) --root $(ROOT)
endef

reproduce-cifar10: install ## CIFAR-10 with the paper's settings (GPU + internet)
	$(call reproduce,cifar10,paper)

reproduce-cifar100-20: install ## CIFAR-100-20 superclasses with the paper's settings (GPU + internet)
	$(call reproduce,cifar100-20,paper)

reproduce-stl10: install ## STL-10 with the paper's settings (GPU + internet)
	$(call reproduce,stl10,paper)

reproduce-imagenet: install ## ImageNet-1k, large-K settings (GPU; archives placed by hand)
	$(call reproduce,imagenet,large-k)

clean: ## remove the virtual environment and caches (keeps ROOT)
	rm -rf $(VENV) .pytest_cache
