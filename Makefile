# Berth: build the berth binary, the bootable disk image, and boot it in QEMU.
#   make deps    install missing Debian packages (apt-get), check the .NET SDK
#   make build   dotnet publish (NativeAOT) -> build/bin/berth + entry-point symlinks
#   make image   build/berth.img (image-build/mkimage.sh)
#   make run     deps + build + image + qemu/boot.sh  (BOOT_ARGS="--firmware uefi ...")
#   make bench   bench/boot (BENCH_ARGS="-n 5")
#   make bundle  build/berth-$(VERSION).bundle, signed with KEY (default: build/keys/bundle.key, made
#                on first use, never committed): make bundle VERSION=1.2.3 KEY=/path/key.pem
#   make test    image + dotnet test
#   make clean
SHELL := /bin/bash
.DEFAULT_GOAL := image
.DELETE_ON_ERROR:

DOTNET     ?= dotnet
BUILD      := build
PUBLISH    := $(BUILD)/publish
BIN        := $(BUILD)/bin
IMAGE      := $(BUILD)/berth.img
BOOT_ARGS  ?=
BENCH_ARGS ?=
# upgrade bundles: version (default: the VERSION file) and signing key
VERSION    ?= $(shell tr -d ' \n' < VERSION)
BUILD_KEY  := $(BUILD)/keys/bundle.key
KEY        ?= $(BUILD_KEY)
PUBKEY     := $(BUILD)/keys/bundle.pem
BUNDLE     := $(BUILD)/berth-$(VERSION).bundle

ENTRY_POINTS := init berth-runtime syslogd devmgr console netconf ntpd acpid

# C# inputs (generated files under bin/ and obj/ excluded)
SRCS := $(shell find src -type d \( -name bin -o -name obj \) -prune -o -type f \
          \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.targets' \) -print 2>/dev/null) \
        $(wildcard Directory.Build.props Directory.Build.targets Directory.Packages.props NativeAOT.props global.json VERSION)

IMAGE_INPUTS := image-build/mkimage.sh image-build/modules.conf image-build/grub.cfg VERSION $(PUBKEY) \
                $(wildcard /boot/vmlinuz-*)

DEB_PACKAGES := qemu-system-x86 linux-image-amd64 binutils busybox-static dropbear-bin squashfs-tools e2fsprogs \
                dosfstools mtools fdisk grub-pc-bin grub-efi-amd64-bin ovmf cpio kmod zstd xz-utils \
                crun runc umoci skopeo time dnsmasq-base openssh-client python3

.PHONY: all deps check-dotnet build image bundle keys run bench test clean

all: image

deps: check-dotnet
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing:$$missing"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi

check-dotnet:
	@command -v $(DOTNET) >/dev/null 2>&1 || { \
	  echo "error: the .NET SDK ('dotnet') is not installed or not on PATH." >&2; \
	  echo "       Berth needs the .NET 9 (or newer) SDK with NativeAOT: https://dot.net" >&2; \
	  exit 1; }

build: $(BIN)/berth

$(PUBLISH)/berth: $(SRCS) | check-dotnet
	$(DOTNET) publish src/Berth -c Release -o $(PUBLISH)
	@touch $@

$(BIN)/berth: $(PUBLISH)/berth
	@mkdir -p $(BIN)
	cp $(PUBLISH)/berth $(BIN)/berth.tmp && mv -f $(BIN)/berth.tmp $(BIN)/berth
	@for e in $(ENTRY_POINTS); do ln -sfn berth $(BIN)/$$e; done
	@echo "build: $(BIN)/berth (+ $(ENTRY_POINTS))"; ldd $(BIN)/berth | sed 's/^/  /'

image: $(IMAGE)

$(IMAGE): $(BIN)/berth $(IMAGE_INPUTS)
	image-build/mkimage.sh --bin $(BIN) --out $@ --pubkey $(PUBKEY)

# The build key is made once under build/ (never committed). The image trusts the public half of
# KEY: a real key given with KEY=... is baked into images built with the same KEY.
keys: $(PUBKEY)

$(BUILD_KEY):
	@mkdir -p $(dir $@)
	umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out $@.tmp && mv $@.tmp $@

$(PUBKEY): $(KEY)
	@mkdir -p $(dir $@)
	openssl ec -in $(KEY) -pubout -out $@.tmp 2>/dev/null && mv $@.tmp $@

bundle: $(BIN)/berth $(IMAGE_INPUTS)
	image-build/mkimage.sh --bin $(BIN) --version $(VERSION) --pubkey $(PUBKEY) \
	  --slot-only $(BUILD)/slot-$(VERSION).sqfs $(MKIMAGE_ARGS)
	image-build/mkbundle.sh --image $(BUILD)/slot-$(VERSION).sqfs --version $(VERSION) --key $(KEY) --out $(BUNDLE)
	@rm -f $(BUILD)/slot-$(VERSION).sqfs

run: deps build image
	qemu/boot.sh --image $(IMAGE) $(BOOT_ARGS)

bench: image
	bench/boot $(BENCH_ARGS)

# Two runs, two test processes: the host tests start a ChildReaper, whose wait4(-1) thread would
# also reap the processes the QEMU harness starts through System.Diagnostics.Process.
# The second run goes on when the first fails, so one failure does not hide the rest.
test: deps image
	@rc=0; \
	$(DOTNET) test tests/Berth.Tests -c Release --logger "console;verbosity=normal" \
	  --filter "Category!=EndToEnd&Category!=Build" || rc=1; \
	$(DOTNET) test tests/Berth.Tests -c Release --no-build --logger "console;verbosity=normal" \
	  --filter "Category=EndToEnd|Category=Build" || rc=1; \
	exit $$rc

clean:
	rm -rf $(BUILD)
