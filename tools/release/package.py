#!/usr/bin/env python3
"""The registry's release layout from built binaries, byte for byte reproducible (tools/release/release.sh).

  package.py zip BINARY ZIP NAME   ZIP holds BINARY as NAME (mode 0755), dated SOURCE_DATE_EPOCH, deflated.
  package.py finish DIST VERSION   writes DIST/terraform-provider-bluegreen_VERSION_SHA256SUMS (every zip of that
                                   version in DIST, sorted by name) and ..._manifest.json (protocol 6.0).

A zip carries a date and the file's attributes in each entry: both are fixed here (the date from SOURCE_DATE_EPOCH,
which release.sh sets to the commit's time), so two builds of one commit give identical zips when the binaries are.
"""
import hashlib
import json
import os
import sys
import time
import zipfile

PROVIDER = "terraform-provider-bluegreen"


def zip_date():
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    # The zip format starts in 1980 and stores local time fields: use UTC, whatever TZ says.
    return time.gmtime(max(epoch, 315532800))[:6]


def make_zip(binary, out, name):
    info = zipfile.ZipInfo(name, date_time=zip_date())
    info.create_system = 3  # Unix: the mode below is honoured by unzip and by Terraform
    info.external_attr = (0o100755 & 0xFFFF) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(binary, "rb") as f:
        data = f.read()
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w") as z:
        z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    os.replace(tmp, out)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def finish(dist, version):
    prefix = f"{PROVIDER}_{version}_"
    zips = sorted(n for n in os.listdir(dist) if n.startswith(prefix) and n.endswith(".zip"))
    if not zips:
        sys.exit(f"package.py: no {prefix}*.zip in {dist}")
    manifest = f"{PROVIDER}_{version}_manifest.json"
    with open(os.path.join(dist, manifest), "w") as f:
        json.dump({"version": 1, "metadata": {"protocol_versions": ["6.0"]}}, f, indent=2)
        f.write("\n")
    # The registry's SHA256SUMS lists the zips and the manifest, in the shasum format ("hex  name").
    with open(os.path.join(dist, f"{PROVIDER}_{version}_SHA256SUMS"), "w") as f:
        for name in sorted(zips + [manifest]):
            f.write(f"{sha256(os.path.join(dist, name))}  {name}\n")


def main(argv):
    if len(argv) == 5 and argv[1] == "zip":
        make_zip(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "finish":
        finish(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
