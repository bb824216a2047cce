"""docker-py (Debian's python3-docker) against berth's API on the socket given.

Each step prints one line; any failure raises and the test sees a non-zero exit.
"""
import sys

import docker
from docker.errors import ImageNotFound, NotFound, APIError

sock, image = sys.argv[1], sys.argv[2]
client = docker.DockerClient(base_url="unix://" + sock, version="1.41", timeout=60)

assert client.ping() is True
print("ping ok")
v = client.version()
assert v["ApiVersion"] == "1.41", v
print("version", v["ApiVersion"])
assert any(image in i.tags for i in client.images.list()), client.images.list()
print("image listed")
assert client.images.get(image).id.startswith("sha256:")

# A foreground run: create, start, wait, logs (the SDK's order).
out = client.containers.run(image, ["sh", "-c", "echo out-line; echo err-line >&2"], name="fg", stderr=True)
assert b"out-line" in out and b"err-line" in out, out
print("run output ok")

# A detached one: its log followed as it comes, its exit code waited for.
c = client.containers.run(image, ["sh", "-c", "for i in 1 2 3; do echo tick$i; done; exit 3"], name="bg",
                          detach=True, labels={"suite": "api"})
assert c.wait()["StatusCode"] == 3
lines = b"".join(c.logs(stream=True, follow=True)).split()
assert lines == [b"tick1", b"tick2", b"tick3"], lines
print("logs followed ok")
c.reload()
assert c.status == "exited", c.status
assert c.labels["suite"] == "api", c.labels
assert c.name == "bg"
listed = client.containers.list(all=True, filters={"label": "suite=api"})
assert [x.name for x in listed] == ["bg"], listed
print("list filtered ok")

# A long-running one, stopped and removed; a running one cannot be removed without force.
s = client.containers.run(image, ["sleep", "1000"], name="sleeper", detach=True)
s.reload()
assert s.status == "running", s.status
try:
    s.remove()
    raise SystemExit("removing a running container succeeded")
except APIError as e:
    assert e.status_code == 409, e
s.stop(timeout=1)
s.reload()
assert s.status == "exited", s.status
s.remove()
print("stop and remove ok")

try:
    client.containers.get("no-such-container")
    raise SystemExit("a missing container was found")
except NotFound:
    print("missing container 404")
try:
    client.images.get("localhost/no-such-image:1")
    raise SystemExit("a missing image was found")
except ImageNotFound:
    print("missing image 404")

vol = client.volumes.create(name="apivol", labels={"k": "v"})
assert vol.attrs["Labels"] == {"k": "v"}, vol.attrs
w = client.containers.run(image, ["sh", "-c", "echo kept > /data/f"], volumes={"apivol": {"bind": "/data", "mode": "rw"}},
                          name="writer")
r = client.containers.run(image, ["cat", "/data/f"], volumes=["apivol:/data:ro"], name="reader")
assert r == b"kept\n", r
for name in ("writer", "reader", "fg", "bg"):
    client.containers.get(name).remove()
client.volumes.get("apivol").remove()
assert "apivol" not in [v.name for v in client.volumes.list()]
print("volumes ok")
print("networks", len(client.networks.list()) > 0)
