# efikit — the two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
PYTEST_ARGS ?=

# Debian packages the test tiers use (peers and real firmware).
DEBIAN_PACKAGES := ovmf qemu-system-x86 swtpm swtpm-tools gnu-efi mtools dosfstools gdisk \
	efibootmgr efivar sbsigntool pesign osslsigncode shim-signed grub-efi-amd64-signed \
	systemd-boot-efi gcc make libc6-dev openssl busybox-static binutils

.PHONY: all venv install install-test debs demo-debs demo test test-unit test-linux bench fuzz man mutate dist clean

all: install

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	touch $@

venv: $(VENV)/.created

# compileall: start-up reads cached bytecode even where PYTHONDONTWRITEBYTECODE is set.
install: venv
	$(PIP) install -q -e .
	$(PY) -m compileall -q efikit >/dev/null

install-test: venv
	$(PIP) install -q -e '.[test]'
	$(PY) -m compileall -q efikit >/dev/null

# Installs the Debian packages when run as root and any is missing; otherwise says what to install.
# (With recommends: the same package set every firmware and peer test has been run against.)
debs:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else \
		echo "not root: please install the Debian packages:$$missing" >&2; \
	fi

# The demo reads the sample disk image through mtools.
demo-debs:
	@dpkg -s mtools >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mtools; } || echo "please install mtools" >&2

demo: install demo-debs
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash fixtures/demo.sh

test: debs install-test
	$(PY) -m pytest -q -n 2 $(PYTEST_ARGS)

test-unit: install-test
	$(PY) -m pytest -q -n 2 -m "not peer and not firmware" $(PYTEST_ARGS)

# The Linux-guest tier alone: Debian's kernel (fetched with apt-get download into
# build/linux-guest) booted by OVMF, efikit run inside it.
test-linux: debs install-test
	$(PY) -m pytest -q -n 2 -m linux_guest $(PYTEST_ARGS)

bench: debs install-test
	$(PY) bench/run_all.py

# Man pages generated from the commands' own help (tests/test_cli_surface.py keeps man/ in step).
man: install
	$(PY) -m efikit.cli.manpage man

fuzz: install-test
	$(PY) tests/fuzz/fuzz_devpath.py -atheris_runs=1000000

# Plants the documented bugs of tests/mutate.py one at a time; fails if a test misses one.
mutate: install-test
	$(PY) tests/mutate.py

# The sdist, and the wheel built from it (as pip would from the sdist), into dist/.
dist: venv
	$(PIP) install -q 'build>=1'
	rm -rf dist
	$(PY) -m build --outdir dist .
	@tar tzf dist/*.tar.gz

clean:
	rm -rf $(VENV) build dist *.egg-info efikit/_native*.so efikit/_native.c
