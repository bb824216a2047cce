#!/usr/bin/env python3
"""A synthetic 5-layer OCI layout about the size of the anchors' large image:
Go sources (many small files) and pseudo-random data, gzip-compressed.
Usage: make-layout.py DIR TAG"""
import gzip, hashlib, io, json, os, random, sys, tarfile

out, tag = sys.argv[1], sys.argv[2]
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)

def put(b):
    d = hashlib.sha256(b).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(b)
    return "sha256:" + d

def layer(fill):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        fill(t)
    plain = buf.getvalue()
    return plain, gzip.compress(plain, compresslevel=6, mtime=0)

def add_bytes(t, name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1600000000; ti.mode = 0o644
    t.addfile(ti, io.BytesIO(data))

def gosrc(t):
    src = "/usr/share/go-1.19/src"
    if os.path.isdir(src):
        t.add(src, arcname="usr/share/go/src")
    else:
        rnd = random.Random(7)
        for i in range(20000):
            add_bytes(t, f"usr/share/src/{i // 100}/f{i}.txt", (" ".join(str(rnd.random()) for _ in range(100))).encode())

def rand(seed, mb):
    def fill(t):
        rnd = random.Random(seed)
        for i in range(mb // 4):
            add_bytes(t, f"data{seed}/blob{i}.bin", rnd.randbytes(4 << 20))
    return fill

layers = [layer(gosrc), layer(rand(1, 40)), layer(rand(2, 40)), layer(rand(3, 40)), layer(rand(4, 40))]
descs, diff_ids = [], []
for plain, gz in layers:
    descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(gz), "size": len(gz)})
    diff_ids.append("sha256:" + hashlib.sha256(plain).hexdigest())
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": put(config), "size": len(config)},
                       "layers": descs}).encode()
index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": put(manifest), "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": tag}}]}
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump(index, f)
with open(os.path.join(out, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
