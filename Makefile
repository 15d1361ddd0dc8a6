# Two commands on a fresh machine: `make demo` and `make test`. Each sets up .venv itself.
# `make demo DEMO_FLAGS=--web` leaves the supervisor's page of the demo repository running.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit bench stress man screenshots clean system-deps

# what the tests drive besides Python: a headless browser for `git codev web` and a terminal
# for `status --watch` (Debian packages; installed only when missing)
SYSTEM_DEPS := /usr/bin/chromium /usr/bin/chromedriver /usr/bin/tmux

$(STAMP): pyproject.toml man/git-codev.1
	command -v man >/dev/null || { apt-get update -qq && apt-get install -y -qq man-db; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	install -D -m 644 man/git-codev.1 $(VENV)/share/man/man1/git-codev.1
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/git-codev demo $(DEMO_FLAGS)

test: $(STAMP) lint typecheck unit

system-deps:
	@for f in $(SYSTEM_DEPS); do test -x $$f || missing=1; done; \
	if [ -n "$$missing" ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver tmux; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check codev_git tests bench
	$(BIN)/ruff format --check codev_git tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# the suite under coverage, subprocesses included (the entry point, the hook, MCP servers:
# [tool.coverage.run] patch = subprocess); fails under 90 % branch coverage
unit: $(STAMP) system-deps
	rm -rf .coverage-data && mkdir -p .coverage-data
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/coverage run -m pytest -q
	$(BIN)/coverage combine -q
	$(BIN)/coverage report

bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/run.py --write docs/benchmark.md

stress: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" CODEV_STRESS=1 $(BIN)/pytest -q -m stress

# retake docs/screenshots/ (the page of the demo repository, in chromium); `make test` does
# not touch them
screenshots: $(STAMP) system-deps
	PATH="$(CURDIR)/$(BIN):$$PATH" CODEV_SCREENSHOTS="$(CURDIR)/docs/screenshots" \
		$(BIN)/pytest -q tests/test_web_browser.py -k screenshots

# regenerate the man page from the command definitions (a test checks it is current)
man: $(STAMP)
	$(BIN)/python -m codev_git.manpage > man/git-codev.1
	install -D -m 644 man/git-codev.1 $(VENV)/share/man/man1/git-codev.1

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
