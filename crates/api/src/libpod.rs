//! libpod's endpoints (`/v4.x/libpod/…`), which podman's remote client
//! (`podman --remote`) speaks: the engine's reports are podman's already, so
//! most answers are them as they are, in the types podman's client reads.

use berth_engine::container::Info;
use berth_engine::views::PsEntry;
use serde_json::{Value, json};

use crate::Service;
use crate::http::Request;
use crate::reply::{ApiError, Reply, Result};
use crate::system::filters;

/// podman's ListContainer: times as RFC 3339 or seconds, ports as records.
fn list_entry(info: &Info, e: PsEntry) -> Value {
    let ports: Vec<Value> = info
        .config
        .process
        .ports
        .iter()
        .map(|p| {
            json!({"host_ip": if p.host_ip == "0.0.0.0" { "" } else { p.host_ip.as_str() },
                   "container_port": p.container_port, "host_port": p.host_port,
                   "range": 1, "protocol": p.protocol})
        })
        .collect();
    let secs = |ns: Option<u64>| ns.map_or(0, |n| n / 1_000_000_000);
    json!({
        "AutoRemove": e.auto_remove,
        "Command": e.command,
        "Created": berth_engine::time::format_rfc3339_nanos(info.config.created_ns),
        "CreatedAt": e.created_at,
        "Exited": e.exited,
        "ExitedAt": secs(info.state.finished_ns),
        "ExitCode": e.exit_code,
        "Id": e.id,
        "Image": e.image,
        "ImageID": e.image_id,
        "IsInfra": e.is_infra,
        "Labels": e.labels,
        "Mounts": e.mounts,
        "Names": e.names,
        "Namespaces": {},
        "Networks": e.networks,
        "Pid": e.pid,
        "Pod": e.pod,
        "PodName": e.pod_name,
        "Ports": ports,
        "StartedAt": secs(info.state.started_ns),
        "State": e.state,
        // Podman's client words the status itself; this field is for health.
        "Status": "",
    })
}

pub fn containers(s: &Service, req: &Request) -> Result {
    crate::containers::listed(s, req, list_entry)
}

pub fn inspect(s: &Service, id: &str) -> Result {
    let c = s.engine.containers().inspect(id)?;
    Ok(Reply::Json(
        200,
        serde_json::to_value(&c).map_err(|e| ApiError::new(500, e))?,
    ))
}

pub fn exists(s: &Service, id: &str) -> Result {
    s.engine.containers().inspect(id)?;
    Ok(Reply::Empty(204))
}

/// podman's ImageSummary, an entry an image.
pub fn images(s: &Service, req: &Request) -> Result {
    let o = berth_engine::images::ListOptions {
        all: req.flag("all"),
        filters: filters(req)?,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for i in s.engine.images().list(&o)? {
        if seen.contains(&i.id) {
            continue;
        }
        seen.push(i.id.clone());
        out.push(json!({
            "Id": i.id,
            "ParentId": "",
            "RepoTags": if i.dangling { Vec::new() } else { i.names.clone() },
            "RepoDigests": crate::images::repo_digests(&i.names, &i.digest),
            "Created": i.created,
            "Size": i.size,
            "SharedSize": 0,
            "VirtualSize": i.size,
            "Labels": i.labels,
            "Containers": 0,
            "ReadOnly": i.read_only,
            "Dangling": i.dangling,
            "Names": i.names,
            "Digest": i.digest,
            "History": i.history,
        }));
    }
    Ok(Reply::Json(200, Value::Array(out)))
}

pub fn image_exists(s: &Service, name: &str) -> Result {
    match s.engine.images().exists(name)? {
        true => Ok(Reply::Empty(204)),
        false => Err(ApiError::not_found(format!("{name}: image not known"))),
    }
}

/// `DELETE /libpod/images/remove?images=…&all=&force=&ignore=`: podman's
/// bulk removal (also of manifest lists): one report, errors in it.
pub fn images_remove(s: &Service, req: &Request) -> Result {
    let names: Vec<String> = req
        .query
        .iter()
        .filter(|(k, _)| k == "images")
        .map(|(_, v)| v.clone())
        .collect();
    let o = berth_engine::images::RemoveOptions {
        force: req.flag("force"),
        all: req.flag("all"),
        ignore: req.flag("ignore"),
        ..Default::default()
    };
    let (mut deleted, mut untagged, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let mut exit_code = 0;
    for r in s.engine.images().remove(&names, o)? {
        match r {
            Ok(r) => {
                untagged.extend(r.untagged);
                deleted.extend(r.deleted.into_iter().chain(r.parents));
            }
            Err(e) => {
                // podman's codes: 1 for an unknown image, 2 for one in use.
                exit_code = match e {
                    berth_engine::images::ImageError::NotKnown(_) => 1,
                    berth_engine::images::ImageError::InUse { .. } => 2,
                    _ => 125,
                };
                errors.push(e.to_string());
            }
        }
    }
    Ok(Reply::Json(
        200,
        serde_json::json!({
            "Deleted": deleted, "Untagged": untagged, "Errors": errors, "ExitCode": exit_code
        }),
    ))
}

pub fn info(s: &Service) -> Result {
    let i = s.engine.info(None)?;
    Ok(Reply::Json(
        200,
        serde_json::to_value(&i).map_err(|e| ApiError::new(500, e))?,
    ))
}

pub fn pods(s: &Service, req: &Request) -> Result {
    let all = berth_engine::pods::ps(s.engine.store(), &filters(req)?)?;
    let out: Vec<Value> = all
        .into_iter()
        .map(|p| {
            json!({
                "Cgroup": "",
                "Containers": p.containers,
                "Created": p.created,
                "Id": p.id,
                "InfraId": p.infra_id,
                "Name": p.name,
                "Namespace": "",
                "Networks": p.networks,
                "Status": p.status,
                "Labels": p.labels,
            })
        })
        .collect();
    Ok(Reply::Json(200, Value::Array(out)))
}

/// The part of podman's SpecGenerator that berth's remote runs take.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct SpecGen {
    image: String,
    name: String,
    command: Vec<String>,
    entrypoint: Option<Vec<String>>,
    env: std::collections::BTreeMap<String, String>,
    labels: std::collections::BTreeMap<String, String>,
    terminal: bool,
    stdin: bool,
    remove: bool,
    work_dir: String,
    user: String,
    hostname: String,
    pod: String,
    portmappings: Vec<PortSpec>,
    netns: Option<NsSpec>,
    userns: Option<NsSpec>,
    cap_add: Vec<String>,
    cap_drop: Vec<String>,
    privileged: bool,
    read_only_filesystem: bool,
    stop_timeout: Option<u64>,
    restart_policy: String,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PortSpec {
    host_ip: String,
    container_port: u16,
    host_port: u16,
    protocol: String,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct NsSpec {
    nsmode: String,
    value: String,
}

impl NsSpec {
    /// The namespace as the CLI's flag says it (`auto:size=N`,
    /// `container:NAME`); None for no mode, the default's.
    fn flag(&self) -> Option<String> {
        match (self.nsmode.as_str(), self.value.as_str()) {
            ("" | "default", _) => None,
            (mode, "") => Some(mode.to_string()),
            (mode, value) => Some(format!("{mode}:{value}")),
        }
    }
}

pub fn create(s: &Service, req: &Request) -> Result {
    let o = run_options(crate::containers::json_body(req)?)?;
    let c = s.engine.containers().create(&o)?;
    Ok(Reply::Json(201, json!({"Id": c.id, "Warnings": []})))
}

/// The engine's options for a libpod create request.
fn run_options(g: SpecGen) -> Result<berth_engine::RunOptions> {
    if g.image.is_empty() {
        return Err(ApiError::bad_request("image: a container needs an image"));
    }
    let non_empty = |v: String| (!v.is_empty()).then_some(v);
    let network = match g.netns {
        None => berth_engine::network::NetworkMode::Unset,
        Some(n) => match n.nsmode.as_str() {
            "" | "default" | "private" => berth_engine::network::NetworkMode::Unset,
            "bridge" => {
                berth_engine::network::NetworkMode::Bridge(berth_engine::network::DEFAULT.into())
            }
            "container" => format!("container:{}", n.value)
                .parse()
                .map_err(|e| ApiError::bad_request(format!("netns: {e}")))?,
            m => m
                .parse()
                .map_err(|e| ApiError::bad_request(format!("netns: {e}")))?,
        },
    };
    let mut p = berth_engine::spec::ProcessOptions {
        command: g.command,
        entrypoint: g.entrypoint,
        env: g.env.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
        labels: g
            .labels
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        tty: g.terminal,
        interactive: g.stdin,
        workdir: non_empty(g.work_dir),
        user: non_empty(g.user),
        hostname: non_empty(g.hostname),
        pod: non_empty(g.pod),
        network,
        cap_add: g.cap_add,
        cap_drop: g.cap_drop,
        privileged: g.privileged,
        read_only: g.read_only_filesystem,
        stop_timeout: g.stop_timeout,
        ports: port_mappings(g.portmappings),
        ..Default::default()
    };
    let ns =
        |flag| berth_engine::namespaces::NsMode::parse(flag, None).map_err(ApiError::bad_request);
    p.pid = ns("pid")?;
    p.ipc = ns("ipc")?;
    p.uts = ns("uts")?;
    if !g.restart_policy.is_empty() {
        p.restart = g.restart_policy.parse().map_err(ApiError::bad_request)?;
    }
    let userns = g.userns.as_ref().and_then(NsSpec::flag);
    crate::create::userns(&mut p, userns.as_deref(), "userns")?;
    Ok(berth_engine::RunOptions {
        image: g.image,
        name: non_empty(g.name),
        rm: g.remove,
        replace: false,
        process: p,
    })
}

/// libpod's wait answers the exit code alone.
pub fn wait(s: &Service, id: &str) -> Result {
    let code = s.engine.containers().wait(id)?;
    Ok(Reply::Json(200, json!(code)))
}

/// libpod's rm answers a report a container removed (with `depend`, those
/// that depended on it first; with `ignore`, none for one not there).
pub fn remove(s: &Service, req: &Request, id: &str) -> Result {
    let c = s.engine.containers();
    // Not there: remove_with answers (nothing removed with `ignore`).
    let asked = c.inspect(id).map(|i| i.id).unwrap_or_default();
    let timeout = req
        .param("timeout")
        .and_then(|t| t.parse().ok())
        .unwrap_or(10);
    let o = berth_engine::lifecycle::RemoveOptions {
        force: req.flag("force"),
        time: timeout,
        volumes: req.flag("v"),
        depend: req.flag("depend"),
        ignore: req.flag("ignore"),
    };
    let removed = c.remove_with(id, &o)?;
    let reports: Vec<Value> = removed
        .iter()
        .map(|i| {
            let raw = if i.id == asked { id } else { i.id.as_str() };
            json!({"Id": i.id, "Err": null, "RawInput": raw})
        })
        .collect();
    Ok(Reply::Json(200, Value::Array(reports)))
}

/// `POST /libpod/images/pull?reference=NAME&policy=P`: libpod's stream of
/// JSON objects, the pulled images' IDs last.
pub fn pull(s: &Service, req: &Request, w: &mut dyn std::io::Write) -> Result {
    let Some(name) = req.param("reference").filter(|r| !r.is_empty()) else {
        return Err(ApiError::bad_request(
            "reference: which image to pull is missing",
        ));
    };
    let policy = req
        .param("policy")
        .filter(|p| !p.is_empty())
        .unwrap_or("always");
    let o = berth_engine::pull::PullOptions {
        policy: policy.parse().map_err(ApiError::bad_request)?,
        all_tags: req.flag("allTags"),
        context: crate::images::registry_context(req)?,
        ..Default::default()
    };
    let out = crate::http::Chunked::start(w, 200, "application/json")
        .map_err(|e| ApiError::new(500, e))?;
    let mut events = |_: berth_engine::pull::PullEvent| {};
    let last = match s
        .engine
        .images()
        .pull(name, &o, &berth_image::copy::Silent, &mut events)
    {
        Ok(r) => json!({"images": r.ids, "id": r.ids.first().cloned().unwrap_or_default()}),
        Err(e) => json!({"error": e.to_string()}),
    };
    Ok(out.end_with(&last))
}

/// `POST /libpod/images/NAME/push?destination=D&tlsVerify=…`: libpod's
/// stream (`{"stream": …}` lines, an `{"error": …}` line on failure), which
/// podman's remote client reads; Docker's push answers in another shape. A
/// manifest list's name pushes the list (with `all`, its images too), as
/// `podman push` does.
pub fn push(s: &Service, req: &Request, name: &str, w: &mut dyn std::io::Write) -> Result {
    if !berth_engine::manifests::exists(s.engine.store(), name) {
        s.engine.images().inspect(name)?;
    }
    let context = crate::images::registry_context(req)?;
    let options = berth_engine::images::PushOptions {
        destination: req
            .param("destination")
            .filter(|d| !d.is_empty())
            .map(Into::into),
        all: req.flag("all"),
        ..Default::default()
    };
    let mut out = crate::http::Chunked::start(w, 200, "application/json")
        .map_err(|e| ApiError::new(500, e))?;
    let _ = out.json_line(&json!({"stream": "Getting image source signatures\n"}));
    let pushed = s
        .engine
        .images()
        .push_any(name, &options, &context, &berth_image::copy::Silent);
    let last = match pushed {
        Ok(_) => json!({"stream": "Writing manifest to image destination\n"}),
        Err(e) => json!({"error": e.to_string()}),
    };
    Ok(out.end_with(&last))
}

/// The part of podman's PodSpecGenerator that `pod create` sends.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PodSpec {
    name: String,
    no_infra: bool,
    infra_image: String,
    hostname: String,
    labels: std::collections::BTreeMap<String, String>,
    portmappings: Vec<PortSpec>,
    shared_namespaces: Vec<String>,
    exit_policy: String,
}

pub fn pod_create(s: &Service, req: &Request) -> Result {
    let g: PodSpec = crate::containers::json_body(req)?;
    let o = berth_engine::pods::PodCreate {
        name: (!g.name.is_empty()).then_some(g.name),
        infra: !g.no_infra,
        infra_image: (!g.infra_image.is_empty()).then_some(g.infra_image),
        hostname: (!g.hostname.is_empty()).then_some(g.hostname),
        labels: g
            .labels
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        share: (!g.shared_namespaces.is_empty()).then(|| g.shared_namespaces.join(",")),
        ports: port_mappings(g.portmappings),
        exit_policy: match g.exit_policy.as_str() {
            "" => Default::default(),
            p => p.parse().map_err(ApiError::bad_request)?,
        },
        ..Default::default()
    };
    let pod = berth_engine::pods::create(s.engine.store(), &o)?;
    Ok(Reply::Json(201, json!({"Id": pod.id})))
}

fn pod_id(s: &Service, name: &str) -> std::result::Result<String, ApiError> {
    Ok(berth_engine::pods::find(s.engine.store(), name)?.id)
}

pub fn pod_inspect(s: &Service, name: &str) -> Result {
    let store = s.engine.store();
    let pod = berth_engine::pods::find(store, name)?;
    let report = berth_engine::pods::inspect(store, &pod);
    Ok(Reply::Json(
        200,
        serde_json::to_value(report).map_err(|e| ApiError::new(500, e))?,
    ))
}

pub fn pod_exists(s: &Service, name: &str) -> Result {
    pod_id(s, name)?;
    Ok(Reply::Empty(204))
}

/// start, stop, kill, pause, unpause: libpod's report of the pod.
pub fn pod_verb(s: &Service, req: &Request, name: &str, verb: &str) -> Result {
    let store = s.engine.store();
    let timeout = req
        .param("t")
        .or(req.param("timeout"))
        .and_then(|t| t.parse().ok());
    let pod = match verb {
        "start" => berth_engine::pods::start(store, name, &*s.monitor)?,
        "stop" => berth_engine::pods::stop(store, name, timeout)?,
        "kill" => berth_engine::pods::kill(store, name, req.param("signal").unwrap_or("KILL"))?,
        "pause" => berth_engine::pods::set_paused(store, name, true)?,
        _ => berth_engine::pods::set_paused(store, name, false)?,
    };
    Ok(Reply::Json(200, json!({"Errs": [], "Id": pod.id})))
}

pub fn pod_remove(s: &Service, req: &Request, name: &str) -> Result {
    let timeout = req
        .param("timeout")
        .and_then(|t| t.parse().ok())
        .unwrap_or(10);
    let pod = berth_engine::pods::remove(s.engine.store(), name, req.flag("force"), timeout)?;
    Ok(Reply::Json(
        200,
        json!({"Err": null, "Id": pod.id, "RemovedCtrs": {}}),
    ))
}

/// `GET /libpod/generate/NAME/systemd`: the units (`podman --remote generate
/// systemd`), by service name, running this service's berth with its store.
pub fn generate_systemd(s: &Service, req: &Request, name: &str) -> Result {
    use berth_engine::systemd::{self, UnitOptions};
    let argv: Vec<String> = s
        .command
        .argv()
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // podman's client sends the names lowercased (`usename`), its docs camelCase.
    let list = |k: &str| -> Vec<String> {
        req.query
            .iter()
            .filter(|(q, _)| q.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
            .collect()
    };
    let param = |k: &str| list(k).into_iter().next();
    let num = |k: &str| param(k).and_then(|v| v.parse().ok());
    let text = |k: &str, default: &str| param(k).unwrap_or_else(|| default.to_string());
    let flag = |k: &str| matches!(param(k).as_deref(), Some("1" | "true" | "True"));
    let o = UnitOptions {
        use_name: flag("useName"),
        new: flag("new") || flag("template"),
        template: flag("template"),
        no_header: flag("noHeader"),
        restart_policy: param("restartPolicy"),
        restart_sec: num("restartSec"),
        start_timeout: num("startTimeout"),
        stop_timeout: num("stopTimeout"),
        container_prefix: text("containerPrefix", "container"),
        pod_prefix: text("podPrefix", "pod"),
        separator: text("separator", "-"),
        wants: list("wants"),
        after: list("after"),
        requires: list("requires"),
        env: list("additionalEnvVariables"),
        executable: argv.first().cloned().unwrap_or_else(|| "berth".into()),
        root_flags: argv.iter().skip(1).cloned().collect(),
    };
    let units = systemd::units(s.engine.store(), name, &o)?;
    let map: serde_json::Map<String, Value> = units
        .into_iter()
        .map(|u| (u.service, Value::String(u.text)))
        .collect();
    Ok(Reply::Json(200, Value::Object(map)))
}

/// `POST /libpod/play/kube`: the body is the YAML.
pub fn play_kube(s: &Service, req: &Request) -> Result {
    let yaml = std::str::from_utf8(&req.body)
        .map_err(|_| ApiError::bad_request("the YAML is not UTF-8"))?;
    let o = berth_engine::kube::PlayOptions {
        replace: req.flag("replace"),
        start: req.param("start") != Some("false"),
        service_container: req.flag("serviceContainer"),
        ..Default::default()
    };
    let played = berth_engine::kube::play(s.engine.store(), yaml, &o, &*s.monitor)?;
    let service = played
        .first()
        .and_then(|p| p.service_container.clone())
        .unwrap_or_default();
    let pods: Vec<Value> = played
        .into_iter()
        .map(|p| json!({"ID": p.id, "Containers": p.containers, "InitContainers": [], "Logs": [], "ContainerErrors": []}))
        .collect();
    Ok(Reply::Json(
        200,
        json!({"Pods": pods, "Volumes": [], "ServiceContainerID": service}),
    ))
}

/// libpod's port records as the engine's mappings (an empty address: all).
fn port_mappings(ports: Vec<PortSpec>) -> Vec<berth_engine::network::PortMapping> {
    ports
        .into_iter()
        .map(|p| berth_engine::network::PortMapping {
            host_ip: if p.host_ip.is_empty() {
                "0.0.0.0".into()
            } else {
                p.host_ip
            },
            host_port: p.host_port,
            container_port: p.container_port,
            protocol: if p.protocol.is_empty() {
                "tcp".into()
            } else {
                p.protocol
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(body: Value) -> Result<berth_engine::RunOptions> {
        run_options(serde_json::from_value(body).unwrap())
    }

    #[test]
    fn userns_resolves_as_the_cli_flag_does() {
        let body = json!({
            "image": "busybox",
            "userns": {"nsmode": "auto", "value": "size=1024"},
        });
        let auto = create(body).unwrap().process.auto_userns;
        assert_eq!(auto.expect("an auto user namespace").size, Some(1024));
        let body = json!({
            "image": "busybox",
            "userns": {"nsmode": "container", "value": "other"},
        });
        let joined = create(body).unwrap().process.userns_of;
        assert_eq!(joined.as_deref(), Some("other"));
    }

    #[test]
    fn a_userns_berth_has_not_is_a_bad_request() {
        let body = json!({"image": "busybox", "userns": {"nsmode": "private"}});
        let e = create(body).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.starts_with("userns: "), "{}", e.message);
    }
}
