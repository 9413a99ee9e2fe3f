#!/usr/bin/env python3
"""Both provider mirror layouts a team can host, made from the release zips (`make mirror`).

  mirror.py DIST VERSION OUT

  OUT/fs/registry.terraform.io/cutover/bluegreen/terraform-provider-bluegreen_VERSION_OS_ARCH.zip
      the packed filesystem mirror (provider_installation { filesystem_mirror { path = "OUT/fs" } })
  OUT/net/registry.terraform.io/cutover/bluegreen/index.json, VERSION.json and the zips
      the provider network mirror protocol (provider_installation { network_mirror { url = "https://HOST/" } }
      with OUT/net served at that URL over HTTPS)

VERSION.json lists every zip with its h1: hash (Go's dirhash Hash1 of the unpacked zip, what Terraform computes
and records in .terraform.lock.hcl) and its zh: hash (the SHA-256 of the zip, the SHA256SUMS line). Every zip is
checked against DIST's SHA256SUMS first. An existing OUT is replaced, not merged.
"""
import base64
import hashlib
import json
import os
import shutil
import sys
import zipfile

HOST, NAMESPACE, TYPE = "registry.terraform.io", "cutover", "bluegreen"
PROVIDER = f"terraform-provider-{TYPE}"


def h1(zip_path):
    """dirhash.Hash1: sha256 over the lines "sha256hex  name\\n" of every file, sorted by name; "h1:" + base64."""
    lines = []
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            if info.is_dir():
                continue
            if "\n" in info.filename:
                raise ValueError(f"{zip_path}: file name with a newline")
            lines.append((info.filename, hashlib.sha256(z.read(info)).hexdigest()))
    lines.sort()
    summary = "".join(f"{digest}  {name}\n" for name, digest in lines)
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def sums(dist, version):
    path = os.path.join(dist, f"{PROVIDER}_{version}_SHA256SUMS")
    out = {}
    with open(path) as f:
        for line in f:
            digest, name = line.rstrip("\n").split("  ", 1)
            out[name] = digest
    return out


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    dist, version, out = argv[1:]
    listed = sums(dist, version)
    prefix, archives = f"{PROVIDER}_{version}_", {}
    for name in sorted(listed):
        if not name.endswith(".zip"):
            continue
        path = os.path.join(dist, name)
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        if digest != listed[name]:
            sys.exit(f"mirror.py: {name} does not match its SHA256SUMS line ({digest} != {listed[name]})")
        platform = name[len(prefix):-len(".zip")]
        archives[platform] = (name, path, h1(path), "zh:" + digest)
    if not archives:
        sys.exit(f"mirror.py: no zip of {version} in {dist}/{PROVIDER}_{version}_SHA256SUMS")

    shutil.rmtree(out, ignore_errors=True)
    fs = os.path.join(out, "fs", HOST, NAMESPACE, TYPE)
    net = os.path.join(out, "net", HOST, NAMESPACE, TYPE)
    os.makedirs(fs)
    os.makedirs(net)
    for name, path, _, _ in archives.values():
        shutil.copyfile(path, os.path.join(fs, name))
        shutil.copyfile(path, os.path.join(net, name))
    with open(os.path.join(net, "index.json"), "w") as f:
        json.dump({"versions": {version: {}}}, f, indent=2)
        f.write("\n")
    with open(os.path.join(net, f"{version}.json"), "w") as f:
        doc = {"archives": {p: {"url": n, "hashes": [h, zh]} for p, (n, _, h, zh) in sorted(archives.items())}}
        json.dump(doc, f, indent=2)
        f.write("\n")
    for platform, (_, _, h, _) in sorted(archives.items()):
        print(f"mirror: {platform} {h}")
    print(f"mirror: filesystem mirror {os.path.join(out, 'fs')}, network mirror {os.path.join(out, 'net')}")


if __name__ == "__main__":
    main(sys.argv)
