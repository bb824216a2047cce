//! More of `kube play`: securityContext, persistentVolumeClaims, httpGet and
//! tcpSocket probes, workingDir, hostile YAML, and examples adapted from
//! Kubernetes' own documentation (run with the busybox stand-in image).

mod common;

use common::store::TestStore;
use common::wait_for;

fn write(st: &TestStore, name: &str, text: &str) -> String {
    let p = st.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// What `exec NAME ARGS…` prints, once it succeeds (for servers that start on
/// their own schedule).
fn exec_when_ready(st: &TestStore, name: &str, args: &[&str]) -> String {
    let mut out = String::new();
    let mut cmd = vec!["exec", name];
    cmd.extend(args);
    wait_for(&format!("{args:?} to succeed in {name}"), || {
        let r = st.run(&cmd);
        out = r.stdout;
        r.code == 0
    });
    out
}

/// A capability set of /proc/PID/status (`CapEff` …) inside the container.
fn caps(st: &TestStore, name: &str, set: &str) -> u64 {
    let status = st.ok(&["exec", name, "cat", "/proc/self/status"]).stdout;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{set}:")))
        .unwrap_or_else(|| panic!("no {set} in {status}"));
    u64::from_str_radix(line.trim(), 16).unwrap()
}

const CAP_CHOWN: u32 = 0;
const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;

fn has(set: u64, cap: u32) -> bool {
    set & (1 << cap) != 0
}

/// securityContext: runAsUser/runAsGroup, capabilities add/drop, privileged and
/// readOnlyRootFilesystem, each seen by `inspect` and felt inside the container.
#[test]
fn security_context_holds_inside_the_containers() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "sc.yaml",
        r#"apiVersion: v1
kind: Pod
metadata: {name: sc}
spec:
  containers:
  - name: user
    image: localhost/bb:1
    command: [sleep, '600']
    securityContext: {runAsUser: 1000, runAsGroup: 2000}
  - name: caps
    image: localhost/bb:1
    command: [sleep, '600']
    securityContext: {capabilities: {add: [NET_ADMIN], drop: [CHOWN]}}
  - name: priv
    image: localhost/bb:1
    command: [sleep, '600']
    securityContext: {privileged: true}
  - name: ro
    image: localhost/bb:1
    command: [sleep, '600']
    securityContext: {readOnlyRootFilesystem: true}
"#,
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    // runAsUser/runAsGroup.
    assert_eq!(st.inspect("sc-user", ".Config.User"), "1000:2000");
    assert_eq!(st.ok(&["exec", "sc-user", "id", "-u"]).stdout, "1000\n");
    assert_eq!(st.ok(&["exec", "sc-user", "id", "-g"]).stdout, "2000\n");
    // Capabilities: NET_ADMIN added, CHOWN dropped; the default set lacks
    // SYS_ADMIN, which privileged gives.
    let add = st.inspect("sc-caps", ".HostConfig.CapAdd");
    let drop = st.inspect("sc-caps", ".HostConfig.CapDrop");
    assert!(add.contains("NET_ADMIN"), "{add}");
    assert!(drop.contains("CHOWN"), "{drop}");
    let eff = caps(&st, "sc-caps", "CapEff");
    assert!(has(eff, CAP_NET_ADMIN) && !has(eff, CAP_CHOWN), "{eff:x}");
    assert!(!has(eff, CAP_SYS_ADMIN), "{eff:x}");
    let chown = ["sh", "-c", "touch /tmp/f && chown 1 /tmp/f"];
    let mut args = vec!["exec", "sc-caps"];
    args.extend(chown);
    let r = st.run(&args);
    assert_ne!(r.code, 0, "chown without CAP_CHOWN");
    assert!(r.stderr.contains("Operation not permitted"), "{}", r.stderr);
    // privileged.
    assert_eq!(st.inspect("sc-priv", ".HostConfig.Privileged"), "true");
    assert_eq!(st.inspect("sc-caps", ".HostConfig.Privileged"), "false");
    let eff = caps(&st, "sc-priv", "CapEff");
    assert!(has(eff, CAP_SYS_ADMIN) && has(eff, CAP_CHOWN), "{eff:x}");
    let mut args = vec!["exec", "sc-priv"];
    args.extend(chown);
    st.ok(&args);
    // readOnlyRootFilesystem: writing to / fails there, not in the others.
    assert_eq!(st.inspect("sc-ro", ".HostConfig.ReadonlyRootfs"), "true");
    assert_eq!(st.inspect("sc-caps", ".HostConfig.ReadonlyRootfs"), "false");
    let r = st.run(&["exec", "sc-ro", "touch", "/written"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
    st.ok(&["exec", "sc-caps", "touch", "/written"]);
    st.ok(&["kube", "down", &yaml]);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// A persistentVolumeClaim mounts the named volume of that name: what the
/// container writes is in the volume's mountpoint, and it outlives `kube down`
/// for the next play to read.
#[test]
fn a_persistent_volume_claim_is_a_named_volume_that_outlives_the_pod() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "pv.yaml",
        r#"kind: Pod
metadata: {name: pv}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: localhost/bb:1
    command: [sh, -c, 'cat /data/f 2>/dev/null || echo none; echo kept > /data/f']
    volumeMounts: [{name: d, mountPath: /data}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: claim1}}]
"#,
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    assert_eq!(st.ok(&["wait", "pv-c"]).stdout, "0\n");
    assert_eq!(st.ok(&["logs", "pv-c"]).stdout, "none\n");
    let mountpoint = st
        .ok(&["volume", "inspect", "--format", "{{.Mountpoint}}", "claim1"])
        .stdout;
    let file = std::path::Path::new(mountpoint.trim()).join("f");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "kept\n");
    st.ok(&["kube", "down", &yaml]);
    assert_eq!(st.run(&["pod", "exists", "pv"]).code, 1);
    st.ok(&["volume", "inspect", "claim1"]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "kept\n");
    // Played again, the pod finds what it wrote.
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    st.ok(&["wait", "pv-c"]);
    assert_eq!(st.ok(&["logs", "pv-c"]).stdout, "kept\n");
    st.ok(&["kube", "down", &yaml]);
    st.ok(&["volume", "rm", "claim1"]);
}

/// httpGet and tcpSocket liveness probes (busybox's httpd and nc as servers, its
/// wget and nc as the probes' clients): healthy on a listening port; on a closed
/// port unhealthy, and the container restarted.
#[test]
fn http_and_tcp_probes_pass_on_open_ports_and_restart_on_closed_ones() {
    let st = TestStore::with_busybox();
    let probe = |kind: &str, port: u16| {
        let what = match kind {
            "http" => format!("httpGet: {{path: /index.html, port: {port}}}"),
            _ => format!("tcpSocket: {{port: {port}}}"),
        };
        format!("livenessProbe: {{{what}, periodSeconds: 3600, failureThreshold: 1}}")
    };
    let yaml = write(
        &st,
        "probes.yaml",
        &format!(
            r#"kind: Pod
metadata: {{name: pb}}
spec:
  containers:
  - name: web
    image: localhost/bb:1
    command: [sh, -c, 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www']
    {}
  - name: tcp
    image: localhost/bb:1
    command: [nc, -ll, -p, '9090', -e, 'true']
    {}
  - name: httpclosed
    image: localhost/bb:1
    command: [sleep, '600']
    {}
  - name: tcpclosed
    image: localhost/bb:1
    command: [sleep, '600']
    {}
"#,
            probe("http", 8080),
            probe("tcp", 9090),
            probe("http", 8081),
            probe("tcp", 9091),
        ),
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    // The servers listen (asked the way a user would, not through the probes).
    let page = ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/index.html"];
    assert_eq!(exec_when_ready(&st, "pb-web", &page), "ok\n");
    exec_when_ready(&st, "pb-tcp", &["nc", "127.0.0.1", "9090", "-e", "true"]);
    for healthy in ["pb-web", "pb-tcp"] {
        let r = st.run(&["healthcheck", "run", healthy]);
        assert_eq!(
            (r.code, r.stdout.as_str()),
            (0, ""),
            "{healthy}: {}",
            r.stderr
        );
        assert_eq!(st.inspect(healthy, ".State.Health.Status"), "healthy");
        assert_eq!(st.inspect(healthy, ".RestartCount"), "0");
    }
    for closed in ["pb-httpclosed", "pb-tcpclosed"] {
        let pid = st.inspect(closed, ".State.Pid");
        let r = st.run(&["healthcheck", "run", closed]);
        assert_eq!((r.code, r.stdout.as_str()), (1, "unhealthy\n"), "{closed}");
        wait_for(&format!("{closed} to be restarted"), || {
            st.inspect(closed, ".RestartCount") == "1"
                && st.inspect(closed, ".State.Status") == "running"
                && st.inspect(closed, ".State.Pid") != pid
        });
    }
    st.ok(&["pod", "rm", "-f", "-t", "0", "pb"]);
}

/// workingDir is where the container's command starts, and what inspect shows;
/// one the image lacks is refused with podman's words, and nothing is left.
#[test]
fn working_dir_is_where_the_command_runs() {
    let st = TestStore::with_busybox();
    let pod = |dir: &str| {
        format!(
            "kind: Pod\nmetadata: {{name: wd}}\nspec:\n  restartPolicy: Never\n  containers: [{{name: c, image: localhost/bb:1, workingDir: {dir}, command: [pwd]}}]\n"
        )
    };
    let yaml = write(&st, "wd.yaml", &pod("/tmp"));
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    assert_eq!(st.ok(&["wait", "wd-c"]).stdout, "0\n");
    assert_eq!(st.ok(&["logs", "wd-c"]).stdout, "/tmp\n");
    assert_eq!(st.inspect("wd-c", ".Config.WorkingDir"), "/tmp");
    st.ok(&["kube", "down", &yaml]);
    let missing = write(&st, "missing.yaml", &pod("/srv/app"));
    let r = st.run(&["kube", "play", "--network", "none", &missing]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "Error: workdir \"/srv/app\" does not exist on container"
    );
    assert_eq!(st.ok(&["pod", "ps", "-q"]).stdout, "");
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// Paths under `dir` (not following symlinks) whose last part is `name`.
fn find_named(dir: &std::path::Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_name() == name {
            found.push(p.clone());
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(find_named(&p, name));
        }
    }
    found
}

/// A configMap or secret volume whose name climbs out (`../`) is refused with one
/// line naming it, whether a container mounts it or not, and nothing is made:
/// no pod, no container, no file anywhere.
#[test]
fn a_config_volume_named_with_dot_dot_is_refused_and_nothing_is_written() {
    let st = TestStore::with_busybox();
    let sources = "kind: ConfigMap\nmetadata: {name: cm}\ndata: {k: v}\n---\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n---\n";
    let mounted = write(
        &st,
        "mounted.yaml",
        &format!(
            "{sources}kind: Pod\nmetadata: {{name: esc}}\nspec:\n  containers: [{{name: c, image: localhost/bb:1, command: [sleep, '600'], volumeMounts: [{{name: ../../../escape, mountPath: /etc/app}}]}}]\n  volumes: [{{name: ../../../escape, configMap: {{name: cm}}}}]\n"
        ),
    );
    let unmounted = write(
        &st,
        "unmounted.yaml",
        &format!(
            "{sources}kind: Pod\nmetadata: {{name: esc}}\nspec:\n  containers: [{{name: c, image: localhost/bb:1, command: [sleep, '600']}}]\n  volumes: [{{name: ../../../escape, secret: {{secretName: s}}}}]\n"
        ),
    );
    for yaml in [mounted, unmounted] {
        let r = st.run(&["kube", "play", "--network", "none", &yaml]);
        assert_eq!(r.code, 125, "{yaml}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains("../../../escape"), "{}", r.stderr);
        assert_eq!(st.ok(&["pod", "ps", "-q"]).stdout, "", "{yaml}: a pod");
        assert_eq!(st.ok(&["ps", "-aq"]).stdout, "", "{yaml}: a container");
        assert_eq!(
            find_named(st.path(), "escape"),
            Vec::<std::path::PathBuf>::new()
        );
        assert!(!st.path().join("root/kube/esc").exists());
    }
}

/// Runs `kube play FILE`; it must end by itself (a guard of a minute, long past
/// any refusal, kills it and fails otherwise).
fn play_guarded(st: &TestStore, file: &str) -> common::Run {
    use std::io::Read;
    let mut child = st
        .cmd()
        .args(["kube", "play", "--network", "none", file])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kube play {file} did not end");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    common::Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

/// A "billion laughs" of YAML aliases is refused, in one line, before it expands.
#[test]
fn an_alias_bomb_is_refused() {
    let st = TestStore::with_busybox();
    let mut bomb = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..12u8 {
        let (n, p) = ((b'a' + i) as char, (b'a' + i - 1) as char);
        let refs = vec![format!("*{p}"); 10].join(", ");
        bomb.push_str(&format!("{n}: &{n} [{refs}]\n"));
    }
    bomb.push_str("kind: Pod\nmetadata: {name: laughs}\nspec:\n  containers: [{name: c, image: localhost/bb:1}]\n");
    let file = write(&st, "bomb.yaml", &bomb);
    let r = play_guarded(&st, &file);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("repetition"), "{}", r.stderr);
    assert_eq!(st.run(&["pod", "exists", "laughs"]).code, 1);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// A 100 MB YAML (a valid Pod, then padding) is refused in one line saying it is
/// too large, and no pod is made.
#[test]
fn a_hundred_megabyte_yaml_is_refused() {
    use std::io::Write;
    let st = TestStore::with_busybox();
    let path = st.path().join("huge.yaml");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(b"kind: Pod\nmetadata: {name: huge}\nspec:\n  containers: [{name: c, image: localhost/bb:1, command: [sleep, '600']}]\n")
        .unwrap();
    let line = format!("#{}\n", "x".repeat(1023));
    for _ in 0..100 * 1024 {
        f.write_all(line.as_bytes()).unwrap();
    }
    f.into_inner().unwrap().sync_all().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 100 << 20);
    let r = play_guarded(&st, path.to_str().unwrap());
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    // The file named, and the limit, not the bytes read.
    let said = format!(
        "kube: {}: the YAML is more than the 4194304 bytes read",
        path.display()
    );
    assert!(r.stderr.contains(&said), "{}", r.stderr);
    assert_eq!(st.run(&["pod", "exists", "huge"]).code, 1);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

// Examples from kubernetes.io, with the busybox stand-in image in place of
// nginx, debian and alpine (httpd for nginx).

/// "Communicate Between Containers in the Same Pod Using a Shared Volume": the
/// debian container writes index.html into the emptyDir and ends; nginx serves it.
#[test]
fn k8s_docs_two_containers_share_an_empty_dir() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "two.yaml",
        r#"apiVersion: v1
kind: Pod
metadata:
  name: two-containers
spec:
  restartPolicy: Never
  volumes:
  - name: shared-data
    emptyDir: {}
  containers:
  - name: nginx-container
    image: localhost/bb:1
    command: [httpd, -f, -p, '80', -h, /usr/share/nginx/html]
    volumeMounts:
    - name: shared-data
      mountPath: /usr/share/nginx/html
  - name: debian-container
    image: localhost/bb:1
    volumeMounts:
    - name: shared-data
      mountPath: /pod-data
    command: ["/bin/sh"]
    args: ["-c", "echo Hello from the debian container > /pod-data/index.html"]
"#,
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    assert_eq!(
        st.ok(&["wait", "two-containers-debian-container"]).stdout,
        "0\n"
    );
    assert_eq!(
        st.inspect("two-containers-nginx-container", ".State.Status"),
        "running"
    );
    let get = ["wget", "-q", "-O", "-", "http://localhost/"];
    assert_eq!(
        exec_when_ready(&st, "two-containers-nginx-container", &get),
        "Hello from the debian container\n"
    );
    st.ok(&["kube", "down", &yaml]);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// "Creating a Deployment" (nginx-deployment), two replicas: two pods with the
/// template's label, each serving on its own port 80.
#[test]
fn k8s_docs_deployment_runs_two_replicas() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "deploy.yaml",
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: 2
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: localhost/bb:1
        command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www']
        ports:
        - containerPort: 80
"#,
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    let pods = st
        .ok(&[
            "pod",
            "ps",
            "--filter",
            "label=app=nginx",
            "--format",
            "{{.Name}} {{.Status}}",
        ])
        .stdout;
    let mut pods: Vec<&str> = pods.lines().collect();
    pods.sort();
    assert_eq!(
        pods,
        [
            "nginx-deployment-pod-0 Running",
            "nginx-deployment-pod-1 Running"
        ]
    );
    for pod in ["nginx-deployment-pod-0", "nginx-deployment-pod-1"] {
        let get = ["wget", "-q", "-O", "-", "http://127.0.0.1:80/"];
        let page = exec_when_ready(&st, &format!("{pod}-nginx"), &get);
        assert_eq!(page, format!("{pod}\n"));
    }
    st.ok(&["kube", "down", &yaml]);
    assert_eq!(st.ok(&["pod", "ps", "-q"]).stdout, "");
}

/// "ConfigMaps" (game-demo, configmap-demo-pod): two keys as env, two file-like
/// keys as files of a read-only volume.
#[test]
fn k8s_docs_configmap_as_env_and_volume() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "cm.yaml",
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: game-demo
data:
  player_initial_lives: "3"
  ui_properties_file_name: "user-interface.properties"
  game.properties: |
    enemy.types=aliens,monsters
    player.maximum-lives=5
  user-interface.properties: |
    color.good=purple
    color.bad=yellow
    allow.textmode=true
---
apiVersion: v1
kind: Pod
metadata:
  name: configmap-demo-pod
spec:
  containers:
    - name: demo
      image: localhost/bb:1
      command: ["sleep", "3600"]
      env:
        - name: PLAYER_INITIAL_LIVES
          valueFrom:
            configMapKeyRef:
              name: game-demo
              key: player_initial_lives
        - name: UI_PROPERTIES_FILE_NAME
          valueFrom:
            configMapKeyRef:
              name: game-demo
              key: ui_properties_file_name
      volumeMounts:
      - name: config
        mountPath: "/config"
        readOnly: true
  volumes:
  - name: config
    configMap:
      name: game-demo
      items:
      - key: "game.properties"
        path: "game.properties"
      - key: "user-interface.properties"
        path: "user-interface.properties"
"#,
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    let c = "configmap-demo-pod-demo";
    let env = st
        .ok(&[
            "exec",
            c,
            "sh",
            "-c",
            "echo $PLAYER_INITIAL_LIVES $UI_PROPERTIES_FILE_NAME",
        ])
        .stdout;
    assert_eq!(env, "3 user-interface.properties\n");
    assert_eq!(
        st.ok(&["exec", c, "ls", "/config"]).stdout,
        "game.properties\nuser-interface.properties\n"
    );
    assert_eq!(
        st.ok(&["exec", c, "cat", "/config/game.properties"]).stdout,
        "enemy.types=aliens,monsters\nplayer.maximum-lives=5\n"
    );
    let r = st.run(&["exec", c, "touch", "/config/new"]);
    assert_ne!(r.code, 0, "the configMap volume is writable");
    st.ok(&["pod", "stop", "-t", "0", "configmap-demo-pod"]);
    st.ok(&["kube", "down", &yaml]);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// "Distribute Credentials Securely Using Secrets" (backend-user,
/// env-single-secret): a Secret's key as an environment variable.
#[test]
fn k8s_docs_secret_as_env() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "secret.yaml",
        r#"apiVersion: v1
kind: Secret
metadata:
  name: backend-user
data:
  backend-username: YmFja2VuZC1hZG1pbg==
---
apiVersion: v1
kind: Pod
metadata:
  name: env-single-secret
spec:
  containers:
  - name: envars-test-container
    image: localhost/bb:1
    command: ["sleep", "3600"]
    env:
    - name: SECRET_USERNAME
      valueFrom:
        secretKeyRef:
          name: backend-user
          key: backend-username
"#,
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    let c = "env-single-secret-envars-test-container";
    assert_eq!(
        st.ok(&["exec", c, "sh", "-c", "echo $SECRET_USERNAME"])
            .stdout,
        "backend-admin\n"
    );
    st.ok(&["pod", "stop", "-t", "0", "env-single-secret"]);
    st.ok(&["kube", "down", &yaml]);
    assert_eq!(st.ok(&["ps", "-aq"]).stdout, "");
}

/// "Configure Liveness, Readiness and Startup Probes", liveness-exec: healthy
/// while /tmp/healthy is there; once it goes (here removed by the test, not after
/// 30 s of sleep), the probe fails and the container is restarted, healthy again.
/// (Probe timings shortened from 5 s to 1 s.)
#[test]
fn k8s_docs_exec_liveness_probe_restarts_the_container() {
    let st = TestStore::with_busybox();
    let yaml = write(
        &st,
        "liveness.yaml",
        r#"apiVersion: v1
kind: Pod
metadata:
  labels:
    test: liveness
  name: liveness-exec
spec:
  containers:
  - name: liveness
    image: localhost/bb:1
    args:
    - /bin/sh
    - -c
    - touch /tmp/healthy; sleep 600
    livenessProbe:
      exec:
        command:
        - cat
        - /tmp/healthy
      initialDelaySeconds: 1
      periodSeconds: 1
"#,
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    let c = "liveness-exec-liveness";
    wait_for("the probe to pass", || {
        st.inspect(c, ".State.Health.Status") == "healthy"
    });
    assert_eq!(st.inspect(c, ".RestartCount"), "0");
    let pid = st.inspect(c, ".State.Pid");
    st.ok(&["exec", c, "rm", "/tmp/healthy"]);
    wait_for("the container to be restarted", || {
        st.inspect(c, ".RestartCount") == "1"
            && st.inspect(c, ".State.Status") == "running"
            && st.inspect(c, ".State.Pid") != pid
    });
    wait_for("the probe to pass again", || {
        st.inspect(c, ".State.Health.Status") == "healthy"
    });
    st.ok(&["pod", "rm", "-f", "-t", "0", "liveness-exec"]);
}

mod support;

/// `kube play` pulls what a container needs and the store lacks (podman's
/// play does), and `imagePullPolicy: Never` takes only a local image.
#[test]
fn play_pulls_a_missing_image_unless_told_never() {
    let st = TestStore::with_busybox();
    let reg = support::registry::Registry::start().expect("registry");
    let conf = write(
        &st,
        "registries.conf",
        &format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
            reg.addr()
        ),
    );
    let image = format!("{}/kube/bb:1", reg.addr());
    st.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        "localhost/bb:1",
        &format!("docker://{image}"),
    ]);
    let play = |name: &str, policy: &str| {
        let yaml = write(
            &st,
            &format!("{name}.yaml"),
            &format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers:\n  - name: c\n    image: {image}\n    imagePullPolicy: {policy}\n    command: [sleep, \"600\"]\n"
            ),
        );
        common::run_cmd(
            st.cmd()
                .env("CONTAINERS_REGISTRIES_CONF", &conf)
                .args(["kube", "play", &yaml]),
        )
    };
    let never = play("never", "Never");
    assert_ne!(never.code, 0, "played with an image it may not pull");
    assert!(
        never.stderr.contains("pull policy is \"never\""),
        "{}",
        never.stderr
    );
    assert_ne!(
        st.run(&["pod", "exists", "never"]).code,
        0,
        "a refused play left a pod"
    );
    let pulled = play("pulled", "IfNotPresent");
    assert_eq!(pulled.code, 0, "{}", pulled.stderr);
    assert_eq!(st.run(&["image", "exists", &image]).code, 0);
    assert_eq!(st.inspect("pulled-c", ".State.Status"), "running");
}

/// An image of another transport (an OCI layout here) is copied in and the
/// container made from the copy, as `run` does, even with
/// `imagePullPolicy: Never` (which refuses only a registry's pull).
#[test]
fn play_copies_an_image_from_an_oci_layout() {
    let st = TestStore::with_busybox();
    let layout = st.path().join("layout");
    let source = format!("oci:{}:x", layout.display());
    st.ok(&["push", "-q", "localhost/bb:1", &source]);
    let yaml = write(
        &st,
        "oci.yaml",
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: oci}}\nspec:\n  containers:\n  - name: c\n    image: '{source}'\n    imagePullPolicy: Never\n    command: [sleep, \"600\"]\n"
        ),
    );
    st.ok(&["kube", "play", "--network", "none", &yaml]);
    assert_eq!(st.inspect("oci-c", ".State.Status"), "running");
    let made_from = st.inspect("oci-c", ".Image");
    let id = st.ok(&["image", "inspect", "--format", "{{.Id}}", &made_from]);
    assert_eq!(id.stdout.trim(), made_from);
    st.ok(&["pod", "rm", "-f", "-t", "0", "oci"]);
}
