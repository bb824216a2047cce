//! `kube play` / `kube down`: Kubernetes Pods and Deployments as berth pods.

mod common;

use common::store::TestStore;
use common::wait_for;

const POD: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: demo
  labels: {app: demo}
spec:
  restartPolicy: Never
  containers:
  - name: srv
    image: localhost/bb:1
    command: ["sh", "-c"]
    args: ["echo $GREETING from $(cat /host/f) > /shared/x; exec nc -l -p 8080 -e cat /shared/x"]
    env: [{name: GREETING, value: hello}]
    volumeMounts: [{name: scratch, mountPath: /shared}, {name: h, mountPath: /host, readOnly: true}]
  - name: peer
    image: localhost/bb:1
    command: ["sleep", "600"]
  volumes:
  - {name: scratch, emptyDir: {}}
  - {name: h, hostPath: {path: HOSTDIR}}
"#;

/// What POD's server (demo-srv) answers demo-peer over the pod's loopback, once
/// it listens.
fn served_to_peer(st: &TestStore) -> String {
    let mut got = String::new();
    wait_for("the pod's server to answer its peer", || {
        let nc = [
            "exec",
            "demo-peer",
            "sh",
            "-c",
            "nc 127.0.0.1 8080 </dev/null",
        ];
        got = st.run(&nc).stdout;
        !got.is_empty()
    });
    got
}

fn write(st: &TestStore, name: &str, text: &str) -> String {
    let p = st.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn a_played_pod_runs_its_containers_together_and_goes_down() {
    let st = TestStore::with_busybox();
    let host = st.path().join("host");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("f"), "the host").unwrap();
    let yaml = write(
        &st,
        "pod.yaml",
        &POD.replace("HOSTDIR", host.to_str().unwrap()),
    );
    let out = st.ok(&["kube", "play", "--network", "none", &yaml]).stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Pod:");
    assert_eq!(lines[2], "Containers:");
    let names = st.ok(&["ps", "--format", "{{.Names}}"]).stdout;
    assert!(
        names.contains("demo-srv") && names.contains("demo-peer"),
        "{names}"
    );
    // The containers share the pod's loopback: the peer reaches the server.
    assert_eq!(served_to_peer(&st), "hello from the host\n");
    assert_eq!(st.ok(&["exec", "demo-peer", "hostname"]).stdout, "demo\n");
    let labels = st
        .ok(&["pod", "inspect", "--format", "{{.Labels}}", "demo"])
        .stdout;
    assert!(labels.contains("app:demo"), "{labels}");
    // Playing it again needs --replace.
    assert_eq!(
        st.run(&["kube", "play", "--network", "none", &yaml]).code,
        125
    );
    st.ok(&[
        "kube",
        "play",
        "--replace",
        "--start=false",
        "--network",
        "none",
        &yaml,
    ]);
    let states = st
        .ok(&["ps", "-a", "--filter", "pod=demo", "--format", "{{.State}}"])
        .stdout;
    assert!(states.lines().all(|s| s == "Created"), "{states}");
    let down = st.ok(&["kube", "down", &yaml]).stdout;
    assert!(down.starts_with("Pods stopped:\n"), "{down}");
    assert_eq!(st.run(&["pod", "exists", "demo"]).code, 1);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

#[test]
fn a_deployment_plays_one_pod_a_replica() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "d.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: c, image: localhost/bb:1, command: [sleep, '600']}]\n",
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    let pods = st
        .ok(&["pod", "ps", "--format", "{{.Name}} {{.Status}}"])
        .stdout;
    let mut pods: Vec<&str> = pods.lines().collect();
    pods.sort();
    assert_eq!(pods, ["web-pod-0 Running", "web-pod-1 Running"]);
    st.ok(&["kube", "down", &yaml]);
    assert_eq!(st.ok(&["pod", "ps", "-q"]).stdout, "");
}

#[test]
fn hostile_or_unsupported_yaml_is_refused_and_leaves_nothing() {
    let st = TestStore::with_busybox();
    let big = write(&st, "big.yaml", &"#".repeat(5 << 20));
    let r = st.run(&["kube", "play", &big]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("more than"), "{}", r.stderr);
    let secret = write(
        &st,
        "s.yaml",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: s}\n",
    );
    let r = st.run(&["kube", "play", &secret]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("kind CronJob is not supported"),
        "{}",
        r.stderr
    );
    let escape = write(
        &st,
        "e.yaml",
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: localhost/bb:1, volumeMounts: [{name: v, mountPath: /d}]}]\n  volumes: [{name: v, persistentVolumeClaim: {claimName: ../../etc}}]\n",
    );
    let r = st.run(&["kube", "play", &escape]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("not a volume name"), "{}", r.stderr);
    let missing = write(
        &st,
        "m.yaml",
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: localhost/nosuch:1}]\n",
    );
    assert_ne!(
        st.run(&["kube", "play", "--network", "none", &missing])
            .code,
        0
    );
    assert_eq!(
        st.ok(&["pod", "ps", "-q"]).stdout,
        "",
        "a failed play left a pod"
    );
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// Annotations (the Pod's and `--annotation`) reach the containers, long ones are
/// refused as podman refuses them, and a played pod stops when its containers
/// have (podman's exit policy for kube play).
#[test]
fn annotations_and_the_exit_policy_of_a_played_pod() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "a.yaml",
        "kind: Pod\nmetadata: {name: ann, annotations: {team: blue}}\nspec:\n  restartPolicy: Never\n  containers: [{name: c, image: localhost/bb:1, command: ['true']}]\n",
    );
    st.ok(&[
        "kube",
        "play",
        "--network",
        "none",
        "--annotation",
        "owner=me",
        &yaml,
    ]);
    let a = st
        .ok(&["inspect", "--format", "{{.Config.Annotations}}", "ann-c"])
        .stdout;
    assert!(a.contains("team:blue") && a.contains("owner:me"), "{a}");
    let policy = st
        .ok(&["pod", "inspect", "--format", "{{.ExitPolicy}}", "ann"])
        .stdout;
    assert_eq!(policy, "stop\n");
    wait_for("the played pod to stop", || {
        st.ok(&["pod", "inspect", "--format", "{{.State}}", "ann"])
            .stdout
            == "Exited\n"
    });
    let long = "x".repeat(64);
    let r = st.run(&[
        "kube",
        "play",
        "--replace",
        "--annotation",
        &format!("k={long}"),
        &yaml,
    ]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("annotation exceeds maximum size, 63"),
        "{}",
        r.stderr
    );
    let bad = write(
        &st,
        "b.yaml",
        &format!(
            "kind: Pod\nmetadata: {{name: b, annotations: {{test: {long}}}}}\nspec:\n  containers: [{{name: c, image: localhost/bb:1}}]\n"
        ),
    );
    let r = st.run(&["kube", "play", &bad]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("invalid annotation \"test\""),
        "{}",
        r.stderr
    );
}

/// Each document is a Pod of Kubernetes' own schema: read as k8s-openapi's
/// typed Pod (which refuses a field of the wrong type) and written back, it is
/// the same document (nothing outside the schema, nothing lost).
fn assert_is_a_kubernetes_pod(yaml: &str) {
    for doc in yaml.split("---\n").filter(|d| !d.trim().is_empty()) {
        let v: serde_json::Value = serde_yaml_ng::from_str(doc).unwrap();
        let pod: k8s_openapi::api::core::v1::Pod =
            serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {doc}"));
        assert_eq!(serde_json::to_value(&pod).unwrap(), v, "{doc}");
    }
}

/// `kube generate` writes what `kube play` plays back the same: generate, down,
/// play again; a lone container becomes a Pod of one.
#[test]
fn generate_down_play_round_trip() {
    let st = TestStore::with_busybox();
    let host = st.path().join("host");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("f"), "the host").unwrap();
    let yaml = write(
        &st,
        "pod.yaml",
        &POD.replace("HOSTDIR", host.to_str().unwrap()),
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    let generated = st.path().join("gen.yaml");
    st.ok(&[
        "kube",
        "generate",
        "-f",
        generated.to_str().unwrap(),
        "demo",
    ]);
    let text = std::fs::read_to_string(&generated).unwrap();
    assert!(text.starts_with("apiVersion: v1\nkind: Pod\n"), "{text}");
    assert_is_a_kubernetes_pod(&text);
    st.ok(&["kube", "down", generated.to_str().unwrap()]);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
    st.ok(&[
        "kube",
        "play",
        "--network",
        "none",
        generated.to_str().unwrap(),
    ]);
    assert_eq!(served_to_peer(&st), "hello from the host\n");
    // A container alone.
    st.ok(&[
        "create",
        "--name",
        "solo",
        "-e",
        "A=1",
        "--memory",
        "64m",
        "--cpus",
        "0.5",
        "localhost/bb:1",
        "sleep",
        "5",
    ]);
    let solo = st.ok(&["generate", "kube", "solo"]).stdout;
    assert_is_a_kubernetes_pod(&solo);
    assert!(
        solo.contains("name: solo-pod") && solo.contains("name: A"),
        "{solo}"
    );
    // Its limits go into the YAML and come back from it.
    let gen_solo = st.path().join("solo.yaml");
    std::fs::write(&gen_solo, &solo).unwrap();
    st.ok(&["rm", "solo"]);
    st.ok(&[
        "kube",
        "play",
        "--start=false",
        "--network",
        "none",
        gen_solo.to_str().unwrap(),
    ]);
    assert_eq!(
        st.inspect("solo-pod-solo", ".HostConfig.Memory"),
        "67108864"
    );
    assert_eq!(
        st.inspect("solo-pod-solo", ".HostConfig.NanoCpus"),
        "500000000"
    );
}

/// `kube generate` writes what podman 4.3 writes: each member's annotations
/// (podman's and the user's) as `KEY/CONTAINER`, the pod's `app` label, its
/// hostname, capabilities against the runtime's default set, a pod without
/// members refused in podman's words; its host aliases and shared PID namespace
/// play back.
#[test]
fn generate_writes_podmans_pod_and_plays_its_settings_back() {
    let st = TestStore::with_busybox();
    let json = |yaml: &str| -> serde_json::Value { serde_yaml_ng::from_str(yaml).unwrap() };
    st.ok(&["pod", "create", "--name", "gp", "--add-host", "db:10.1.2.3"]);
    st.ok(&["pod", "create", "--name", "gq", "--share", "+pid"]);
    let r = st.run(&["kube", "generate", "gp"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("only has an infra container"),
        "{}",
        r.stderr
    );
    let infra = st.ok(&["pod", "inspect", "gp", "--format", "{{.InfraContainerID}}"]);
    for (pod, name, extra) in [
        ("gp", "web", &["--annotation", "team=blue"][..]),
        ("gq", "peer", &["--cap-add", "NET_ADMIN"][..]),
    ] {
        let mut args = vec!["create", "--pod", pod, "--name", name];
        args.extend(extra);
        args.extend(["localhost/bb:1", "sleep", "600"]);
        st.ok(&args);
    }
    let v = json(&st.ok(&["kube", "generate", "gp"]).stdout);
    let a = &v["metadata"]["annotations"];
    assert_eq!(a["io.kubernetes.cri-o.TTY/web"], "false", "{v}");
    assert_eq!(a["io.podman.annotations.autoremove/web"], "FALSE", "{v}");
    assert_eq!(
        a["io.kubernetes.cri-o.ContainerType/web"], "container",
        "{v}"
    );
    assert_eq!(a["team/web"], "blue", "{v}");
    // podman's 63 characters: the infra container's ID, cut.
    assert_eq!(
        a["io.kubernetes.cri-o.SandboxID/web"],
        infra.stdout.trim()[..63],
        "{v}"
    );
    assert_eq!(v["metadata"]["labels"]["app"], "gp");
    assert!(
        v["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(v["spec"]["hostname"], "gp");
    assert_eq!(v["spec"]["hostAliases"][0]["ip"], "10.1.2.3");
    let caps = &v["spec"]["containers"][0]["securityContext"]["capabilities"];
    assert_eq!(
        caps.to_string(),
        r#"{"drop":["CAP_MKNOD","CAP_NET_RAW","CAP_AUDIT_WRITE"]}"#
    );
    // inspect shows the same annotations.
    assert_eq!(st.inspect("web", ".Config.Annotations.team"), "blue");
    let q = st.ok(&["kube", "generate", "gq"]).stdout;
    let v = json(&q);
    assert_eq!(v["spec"]["shareProcessNamespace"], true, "{q}");
    assert_eq!(
        v["spec"]["containers"][0]["securityContext"]["capabilities"]["add"][0],
        "CAP_NET_ADMIN"
    );
    // Both play back: the alias in /etc/hosts, the PID namespace shared.
    let gp = st.ok(&["kube", "generate", "gp"]).stdout;
    let files = [("gp.yaml", gp), ("gq.yaml", q)].map(|(f, y)| {
        let p = st.path().join(f);
        std::fs::write(&p, y).unwrap();
        p
    });
    st.ok(&["pod", "rm", "-f", "-t", "0", "gp", "gq"]);
    for f in &files {
        st.ok(&["kube", "play", "--network", "none", f.to_str().unwrap()]);
    }
    let hosts = st.ok(&["exec", "gp-web", "cat", "/etc/hosts"]).stdout;
    assert!(hosts.contains("10.1.2.3\tdb"), "{hosts}");
    let ps = st.ok(&["exec", "gq-peer", "ps", "-o", "args"]).stdout;
    // The infra's pause process: seen only through the pod's PID namespace.
    assert!(ps.contains("pause"), "{ps}");
    for f in &files {
        st.ok(&["kube", "down", f.to_str().unwrap()]);
    }
}

/// ConfigMaps in the YAML: keys as env (one, or all with a prefix) and as files
/// in a read-only volume, which go with the pod; hostile names are refused.
#[test]
fn configmaps_become_env_and_files() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "cm.yaml",
        r#"apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {color: blue, size: large}
---
apiVersion: v1
kind: Pod
metadata: {name: cm}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: localhost/bb:1
    command: [sh, -c, 'echo $COLOR $CFG_size; echo $(cat /etc/app/color); ls /etc/app']
    env: [{name: COLOR, valueFrom: {configMapKeyRef: {name: settings, key: color}}}]
    envFrom: [{prefix: CFG_, configMapRef: {name: settings}}]
    volumeMounts: [{name: conf, mountPath: /etc/app}]
  volumes: [{name: conf, configMap: {name: settings}}]
"#,
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    st.ok(&["wait", "cm-c"]);
    assert_eq!(
        st.ok(&["logs", "cm-c"]).stdout,
        "blue large\nblue\ncolor\nsize\n"
    );
    let files = st.path().join("root/kube/cm");
    assert!(files.is_dir(), "no files for the configMap volume");
    st.ok(&["kube", "down", &yaml]);
    assert!(!files.exists(), "the configMap files outlived the pod");
    let bad = write(
        &st,
        "bad.yaml",
        "kind: Pod\nmetadata: {name: ../../x}\nspec:\n  containers: [{name: c, image: localhost/bb:1}]\n",
    );
    let r = st.run(&["kube", "play", "--network", "none", &bad]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("pod name"), "{}", r.stderr);
    let missing = write(
        &st,
        "miss.yaml",
        "kind: Pod\nmetadata: {name: m}\nspec:\n  containers: [{name: c, image: localhost/bb:1, env: [{name: X, valueFrom: {configMapKeyRef: {name: nope, key: k}}}]}]\n",
    );
    let r = st.run(&["kube", "play", &missing]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("ConfigMap nope is not in the YAML"),
        "{}",
        r.stderr
    );
}

/// Secrets in the YAML (base64 `data` and `stringData`): keys as env and as files.
#[test]
fn secrets_become_env_and_files() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "s.yaml",
        r#"apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {password: czNjcjN0}
stringData: {user: admin}
---
apiVersion: v1
kind: Pod
metadata: {name: sec}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: localhost/bb:1
    command: [sh, -c, 'echo $PW $S_user; echo $(cat /run/creds/password)']
    env: [{name: PW, valueFrom: {secretKeyRef: {name: creds, key: password}}}]
    envFrom: [{prefix: S_, secretRef: {name: creds}}]
    volumeMounts: [{name: c, mountPath: /run/creds, readOnly: true}]
  volumes: [{name: c, secret: {secretName: creds}}]
"#,
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    st.ok(&["wait", "sec-c"]);
    assert_eq!(st.ok(&["logs", "sec-c"]).stdout, "s3cr3t admin\ns3cr3t\n");
    st.ok(&["kube", "down", &yaml]);
    assert!(!st.path().join("root/kube/sec").exists());
}

/// A play that fails part-way takes back the pods it made, and the files of a
/// played pod are its owner's alone.
#[test]
fn a_failed_play_takes_back_every_pod_and_files_stay_private() {
    use std::os::unix::fs::PermissionsExt;
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "two.yaml",
        "kind: Pod\nmetadata: {name: first}\nspec:\n  containers: [{name: c, image: localhost/bb:1, command: [sleep, '600']}]\n---\nkind: Pod\nmetadata: {name: second}\nspec:\n  containers: [{name: c, image: localhost/bb:1, volumeMounts: [{name: v, mountPath: '/:/host'}]}]\n  volumes: [{name: v, emptyDir: {}}]\n",
    );
    let r = st.run(&["kube", "play", "--network", "none", &yaml]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("is not a mount option"), "{}", r.stderr);
    assert_eq!(
        st.ok(&["pod", "ps", "-q"]).stdout,
        "",
        "the first pod stayed"
    );
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
    let cm = write(
        &st,
        "cm.yaml",
        "kind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n---\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: localhost/bb:1, command: [sleep, '600'], volumeMounts: [{name: s, mountPath: /s}]}]\n  volumes: [{name: s, secret: {secretName: s}}]\n",
    );
    st.ok(&["kube", "play", "--network", "none", "--start=false", &cm]);
    let mode = std::fs::metadata(st.path().join("root/kube/p"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn play_build_makes_images_from_the_context_directory() {
    let st = TestStore::with_busybox();
    // A registry nobody serves (a closed loopback port): only a build can
    // give this image.
    let yaml = write(
        &st,
        "build.yaml",
        "kind: Pod\nmetadata: {name: bp}\nspec:\n  containers:\n  - name: c\n    image: 127.0.0.1:1/x/userimage:1\n    command: [id, -un]\n",
    );
    let ctx = st.path().join("ctx");
    std::fs::create_dir_all(ctx.join("userimage")).unwrap();
    std::fs::write(
        ctx.join("userimage/Containerfile"),
        "FROM localhost/bb:1\nUSER bin\n",
    )
    .unwrap();
    // Without a directory for it, the image is pulled, and cannot be.
    let r = st.run(&["kube", "play", "--build", "--start=false", &yaml]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(st.run(&["pod", "exists", "bp"]).code, 1);
    st.ok(&[
        "kube",
        "play",
        "--build",
        "--context-dir",
        ctx.to_str().unwrap(),
        "--start=false",
        &yaml,
    ]);
    assert_eq!(st.inspect("bp-c", ".Config.User"), "bin");
    assert_eq!(
        st.inspect("bp-c", ".ImageName"),
        "localhost/userimage:latest"
    );
    // --context-dir means nothing without --build.
    let r = st.run(&["kube", "play", "--context-dir", "/tmp", &yaml]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    st.ok(&["pod", "rm", "-f", "bp"]);
}

/// `--service-container`: a container named after the YAML's digest runs while the
/// play's pods do, stops when their containers have, comes back with the pod, cannot
/// be removed on its own, and goes with the last pod.
#[test]
fn a_service_container_lives_as_long_as_its_pods() {
    use sha2::Digest;
    let st = TestStore::with_busybox();
    let text = "kind: Pod\nmetadata: {name: svc}\nspec:\n  containers: [{name: c, image: localhost/bb:1, command: ['sleep', '600']}]\n";
    let yaml = write(&st, "svc.yaml", text);
    let digest: String = sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let service = format!("{}-service", &digest[..12]);
    st.ok(&[
        "kube",
        "play",
        "--network",
        "none",
        "--service-container=true",
        &yaml,
    ]);
    let running = |name: &str| st.inspect(name, ".State.Running") == "true";
    assert!(running(&service));
    assert_eq!(st.inspect(&service, ".IsService"), "true");
    assert_eq!(st.inspect("svc-c", ".IsService"), "false");
    // Its pod's containers stop: the pod is Exited and the service stops too.
    st.ok(&["stop", "-t", "0", "svc-c"]);
    wait_for("the service container to stop", || !running(&service));
    assert_eq!(
        st.ok(&["pod", "inspect", "--format", "{{.State}}", "svc"])
            .stdout,
        "Exited\n"
    );
    // The pod started again starts it first.
    st.ok(&["pod", "start", "svc"]);
    assert!(running(&service));
    // Never removed alone.
    let r = st.run(&["rm", "-f", &service]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("is the service container of pod(s)"),
        "{}",
        r.stderr
    );
    assert!(running(&service));
    // A pod killed (whose containers Kubernetes would restart) stops it too.
    st.ok(&["pod", "kill", "svc"]);
    wait_for("the service container to stop", || !running(&service));
    assert_eq!(st.inspect("svc-c", ".State.ExitCode"), "137");
    st.ok(&["pod", "start", "svc"]);
    assert!(running(&service));
    // A pod stopped stops it as well; the last pod removed takes it.
    st.ok(&["pod", "stop", "-t", "0", "svc"]);
    wait_for("the service container to stop", || !running(&service));
    st.ok(&["kube", "down", &yaml]);
    assert_eq!(st.run(&["container", "exists", &service]).code, 1);
    assert_eq!(st.ok(&["ps", "-a", "-q"]).stdout, "");
}

/// A hostPort without a containerPort publishes that port of the container; `port`
/// of the pod's container shows what its pod publishes.
#[test]
fn a_host_port_alone_publishes_the_same_container_port() {
    let st = TestStore::with_busybox();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let yaml = write(
        &st,
        "hp.yaml",
        &format!(
            "kind: Pod\nmetadata: {{name: hp}}\nspec:\n  containers:\n  - name: c\n    image: localhost/bb:1\n    command: ['sleep', '600']\n    ports: [{{name: web, hostPort: {free}, hostIP: 127.0.0.1}}]\n"
        ),
    );
    st.ok(&["kube", "play", &yaml]);
    let r = st.ok(&["port", "hp-c"]);
    assert_eq!(r.stdout, format!("{free}/tcp -> 127.0.0.1:{free}\n"));
    st.ok(&["pod", "rm", "-f", "-t", "0", "hp"]);
}

/// The YAML may come from a URL (podman's), for play and down alike.
#[test]
fn play_and_down_read_yaml_from_a_url() {
    let st = TestStore::with_busybox();
    let yaml = "kind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: c, image: localhost/bb:1, command: ['sleep', '600']}]\n";
    let base = berth_testkit::files::serve(vec![("/pod.yaml", yaml.as_bytes().to_vec())]).unwrap();
    let url = format!("{base}/pod.yaml");
    st.ok(&["kube", "play", "--network", "none", &url]);
    assert_eq!(st.inspect("web-c", ".State.Running"), "true");
    st.ok(&["pod", "stop", "-t", "0", "web"]);
    st.ok(&["kube", "down", &url]);
    assert_eq!(st.run(&["container", "exists", "web-c"]).code, 1);
    // A URL that serves nothing: one line naming it, nothing made.
    let r = st.run(&["kube", "play", &format!("{base}/missing.yaml")]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("missing.yaml"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}

/// A container's resource limits become its cgroup limits, and a liveness probe its
/// healthcheck, which restarts the container when it fails (the kubelet's answer).
#[test]
fn limits_and_a_liveness_probe_hold_for_a_played_container() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "probe.yaml",
        "kind: Pod\nmetadata: {name: pr}\nspec:\n  containers:\n  - name: c\n    image: localhost/bb:1\n    command: ['sh', '-c', 'touch /healthy; exec sleep 600']\n    resources: {limits: {memory: 64Mi, cpu: 500m}}\n    livenessProbe:\n      exec: {command: ['test', '-e', '/healthy']}\n      periodSeconds: 3600\n      failureThreshold: 1\n",
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    assert_eq!(st.inspect("pr-c", ".HostConfig.Memory"), "67108864");
    assert_eq!(st.inspect("pr-c", ".HostConfig.NanoCpus"), "500000000");
    assert_eq!(st.ok(&["healthcheck", "run", "pr-c"]).stdout, "");
    st.ok(&["exec", "pr-c", "rm", "/healthy"]);
    let r = st.run(&["healthcheck", "run", "pr-c"]);
    assert_eq!((r.code, r.stdout.as_str()), (1, "unhealthy\n"));
    // Restarted, and healthy again (its command made the file anew).
    assert_eq!(st.inspect("pr-c", ".RestartCount"), "1");
    assert_eq!(st.inspect("pr-c", ".State.Status"), "running");
    st.ok(&["healthcheck", "run", "pr-c"]);
    st.ok(&["pod", "rm", "-f", "-t", "0", "pr"]);
    // A quantity that is not one is refused, and nothing is left.
    let bad = write(
        &st,
        "bad.yaml",
        "kind: Pod\nmetadata: {name: bad}\nspec:\n  containers: [{name: c, image: localhost/bb:1, resources: {limits: {memory: lots}}}]\n",
    );
    let r = st.run(&["kube", "play", &bad]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("resources.limits.memory"), "{}", r.stderr);
    assert_eq!(st.ok(&["pod", "ps", "-q"]).stdout, "");
}

/// A readiness probe alone is a healthcheck that reports: an unready container
/// is told unhealthy and keeps running, never restarted.
#[test]
fn a_readiness_probe_reports_and_never_restarts() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "ready.yaml",
        "kind: Pod\nmetadata: {name: rd}\nspec:\n  containers:\n  - name: c\n    image: localhost/bb:1\n    command: ['sleep', '600']\n    readinessProbe:\n      exec: {command: ['test', '-e', '/ready']}\n      periodSeconds: 3600\n      failureThreshold: 1\n",
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    let r = st.run(&["healthcheck", "run", "rd-c"]);
    assert_eq!((r.code, r.stdout.as_str()), (1, "unhealthy\n"));
    assert_eq!(st.inspect("rd-c", ".State.Health.Status"), "unhealthy");
    assert_eq!(st.inspect("rd-c", ".RestartCount"), "0");
    assert_eq!(st.inspect("rd-c", ".State.Status"), "running");
    st.ok(&["exec", "rd-c", "touch", "/ready"]);
    st.ok(&["healthcheck", "run", "rd-c"]);
    assert_eq!(st.inspect("rd-c", ".State.Health.Status"), "healthy");
    st.ok(&["pod", "rm", "-f", "-t", "0", "rd"]);
}

/// A Job is one pod that runs to its end (never restarted by default); a
/// DaemonSet one pod on this one host; `kube down` takes both.
#[test]
fn a_job_runs_once_and_a_daemonset_runs_one_pod() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "job.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: localhost/bb:1, command: ['sh', '-c', 'echo done']}]\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n    spec:\n      containers: [{name: c, image: localhost/bb:1, command: ['sleep', '600']}]\n",
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    assert_eq!(st.ok(&["wait", "once-pod-c"]).stdout, "0\n");
    assert_eq!(st.ok(&["logs", "once-pod-c"]).stdout, "done\n");
    assert_eq!(st.inspect("once-pod-c", ".RestartCount"), "0");
    assert_eq!(st.inspect("agent-pod-c", ".State.Status"), "running");
    st.ok(&["pod", "stop", "-t", "0", "agent-pod"]);
    st.ok(&["kube", "down", &yaml]);
    assert_eq!(st.ok(&["pod", "ps", "-q"]).stdout, "");
}

/// `--configmap FILE`: ConfigMaps from outside the YAML feed its pods' env;
/// `--log-driver` is every container's.
#[test]
fn configmaps_from_files_and_the_log_driver() {
    let st = TestStore::with_busybox();
    let cm = write(
        &st,
        "cm.yaml",
        "kind: ConfigMap\napiVersion: v1\nmetadata: {name: cm}\ndata: {GREETING: from-file}\n",
    );
    let yaml = write(
        &st,
        "pod.yaml",
        "kind: Pod\nmetadata: {name: cmp}\nspec:\n  containers:\n  - name: c\n    image: localhost/bb:1\n    command: ['sleep', '600']\n    env: [{name: G, valueFrom: {configMapKeyRef: {name: cm, key: GREETING}}}]\n",
    );
    st.ok(&[
        "kube",
        "play",
        "--network",
        "none",
        "--configmap",
        &cm,
        "--log-driver",
        "none",
        &yaml,
    ]);
    let r = st.ok(&["exec", "cmp-c", "sh", "-c", "echo $G"]);
    assert_eq!(r.stdout, "from-file\n");
    assert_eq!(st.inspect("cmp-c", ".HostConfig.LogConfig.Type"), "none");
    st.ok(&["pod", "rm", "-f", "-t", "0", "cmp"]);
    // A file of other kinds is no ConfigMap file: refused, nothing made.
    let r = st.run(&["kube", "play", "--configmap", &yaml, &yaml]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("holds only ConfigMaps"), "{}", r.stderr);
    assert_eq!(st.ok(&["pod", "ps", "-q"]).stdout, "");
}
