//! `_ping`, `version`, `info`, and the volume and network endpoints, in
//! Docker's shapes.

use berth_engine::volumes::VolumeInspect;
use serde_json::{Value, json};

use crate::Service;
use crate::http::Request;
use crate::reply::{ApiError, Reply, Result};

/// Docker's version object, from the engine's version report (the API
/// versions are this service's own).
pub fn version(_: &Service) -> Result {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let engine = berth_engine::system::version().server;
    Ok(Reply::Json(
        200,
        json!({
            "Platform": {"Name": "linux/amd64/debian"},
            "Components": [{
                "Name": "Podman Engine",
                "Version": crate::LIBPOD_API_VERSION,
                "Details": {"APIVersion": crate::LIBPOD_API_VERSION, "berth": engine.version},
            }],
            "Version": crate::LIBPOD_API_VERSION,
            "ApiVersion": crate::DOCKER_API_VERSION,
            "MinAPIVersion": crate::DOCKER_MIN_API_VERSION,
            "GitCommit": engine.git_commit,
            "GoVersion": engine.go_version,
            "Os": engine.os,
            "Arch": berth_engine::system::go_arch(),
            "KernelVersion": kernel.trim(),
            "BuildTime": engine.built_time,
        }),
    ))
}

pub fn info(s: &Service) -> Result {
    let i = s.engine.info(None)?;
    let c = &i.store.container_store;
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(Reply::Json(
        200,
        json!({
            "ID": "",
            "Containers": c.number,
            "ContainersRunning": c.running,
            "ContainersPaused": c.paused,
            "ContainersStopped": c.stopped,
            "Images": i.store.image_store.number,
            "Driver": i.store.graph_driver_name,
            "DockerRootDir": i.store.graph_root,
            "KernelVersion": i.host.kernel,
            "OperatingSystem": i.host.distribution.distribution,
            "OSVersion": i.host.distribution.version,
            "OSType": "linux",
            "Architecture": std::env::consts::ARCH,
            "NCPU": ncpu,
            "MemTotal": berth_engine::system::meminfo("MemTotal"),
            "Name": i.host.hostname,
            "ServerVersion": crate::LIBPOD_API_VERSION,
            "CgroupDriver": i.host.cgroup_manager,
            "CgroupVersion": i.host.cgroup_version,
            "DefaultRuntime": i.host.oci_runtime.name,
            "Runtimes": {i.host.oci_runtime.name.clone(): {"path": i.host.oci_runtime.path}},
            "LoggingDriver": i.host.log_driver,
            "SecurityOptions": if i.host.security.seccomp_enabled { vec!["name=seccomp,profile=default"] } else { vec![] },
            "Labels": [],
            "ExperimentalBuild": true,
            "Debug": false,
            "RegistryConfig": registry_config(),
        }),
    ))
}

/// Docker's registry settings from registries.conf (as podman's compat API
/// makes them): each registry's index config, insecure ones not Secure, with
/// their mirrors; docker.io's mirrors are Docker's registry mirrors.
fn registry_config() -> Value {
    let conf = berth_image::registries::RegistriesConf::load().unwrap_or_else(|e| {
        log::warn!("info: registries.conf: {e}");
        Default::default()
    });
    let url = |location: &str, insecure: bool| {
        let scheme = if insecure { "http" } else { "https" };
        format!("{scheme}://{}/", location.trim_end_matches('/'))
    };
    let mut index = serde_json::Map::new();
    for r in &conf.registries {
        let mirrors: Vec<String> = r
            .mirror
            .iter()
            .map(|m| url(&m.location, m.insecure))
            .collect();
        index.insert(
            r.prefix.clone(),
            json!({"Name": r.prefix, "Mirrors": mirrors, "Secure": !r.insecure, "Official": r.prefix == "docker.io"}),
        );
    }
    let official = index.entry("docker.io").or_insert_with(
        || json!({"Name": "docker.io", "Mirrors": [], "Secure": true, "Official": true}),
    );
    let mirrors = official["Mirrors"].clone();
    json!({
        "AllowNondistributableArtifactsCIDRs": [],
        "AllowNondistributableArtifactsHostnames": [],
        "InsecureRegistryCIDRs": [],
        "IndexConfigs": index,
        "Mirrors": mirrors,
    })
}

/// Docker's `filters` parameter (`{"label":["a=b"]}` or the older
/// `{"label":{"a=b":true}}`) as the engine's `KEY=VALUE` list.
pub fn filters(req: &Request) -> std::result::Result<Vec<String>, ApiError> {
    let Some(text) = req.param("filters").filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    let v: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("filters {text:?}: {e}")))?;
    let Value::Object(map) = v else {
        return Err(ApiError::bad_request(format!(
            "filters {text:?}: not an object"
        )));
    };
    let mut out = Vec::new();
    for (key, values) in map {
        let values: Vec<String> = match values {
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            Value::Object(o) => o
                .into_iter()
                .filter(|(_, on)| on == &Value::Bool(true))
                .map(|(k, _)| k)
                .collect(),
            Value::String(s) => vec![s],
            _ => {
                return Err(ApiError::bad_request(format!(
                    "filters {key:?}: not a list"
                )));
            }
        };
        out.extend(values.into_iter().map(|v| format!("{key}={v}")));
    }
    Ok(out)
}

fn volume(v: &VolumeInspect) -> Value {
    json!({
        "Name": v.name,
        "Driver": v.driver,
        "Mountpoint": v.mountpoint,
        "CreatedAt": v.created_at,
        "Labels": v.labels,
        "Scope": v.scope,
        "Options": v.options,
    })
}

pub fn volumes(s: &Service, req: &Request) -> Result {
    let all = s.engine.volumes().list(&filters(req)?)?;
    Ok(Reply::Json(
        200,
        json!({"Volumes": all.iter().map(volume).collect::<Vec<_>>(), "Warnings": []}),
    ))
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct VolumeCreate {
    name: Option<String>,
    driver: Option<String>,
    driver_opts: Option<std::collections::BTreeMap<String, String>>,
    labels: Option<std::collections::BTreeMap<String, String>>,
}

pub fn volume_create(s: &Service, req: &Request) -> Result {
    let body: VolumeCreate = crate::containers::json_body(req)?;
    if let Some(d) = body
        .driver
        .as_deref()
        .filter(|d| !d.is_empty() && *d != "local")
    {
        return Err(ApiError::bad_request(format!(
            "volume driver {d:?}: only \"local\" is served"
        )));
    }
    let o = berth_engine::volumes::named::CreateOptions {
        labels: body.labels.unwrap_or_default(),
        options: body.driver_opts.unwrap_or_default(),
    };
    let volumes = s.engine.volumes();
    // Docker answers with the existing volume when the name is taken.
    let name = volumes.create(body.name.as_deref().filter(|n| !n.is_empty()), true, &o)?;
    Ok(Reply::Json(201, volume(&volumes.inspect(&name)?)))
}

pub fn volume_inspect(s: &Service, name: &str) -> Result {
    Ok(Reply::Json(200, volume(&s.engine.volumes().inspect(name)?)))
}

pub fn volume_remove(s: &Service, req: &Request, name: &str) -> Result {
    s.engine.volumes().remove(name, req.flag("force"), 10)?;
    Ok(Reply::Empty(204))
}

/// Docker's name of the default network, as podman's compat API shows it.
const DOCKER_DEFAULT: &str = "bridge";

/// A network's name as a Docker client gives it: `bridge` is the default
/// network.
fn network_name(name: &str) -> &str {
    if name == DOCKER_DEFAULT {
        berth_engine::network::DEFAULT
    } else {
        name
    }
}

/// The network in Docker's shape, named `name`.
fn network_named(n: &berth_engine::network::NetworkInspect, name: &str) -> Value {
    let mut v = network(n);
    v["Name"] = json!(name);
    v
}

fn network(n: &berth_engine::network::NetworkInspect) -> Value {
    // Only the options the network was made with, as podman's compat API
    // shows them: compose compares these with its own and would have the
    // network made again for one it never gave.
    let options: serde_json::Map<String, Value> = n
        .options
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": n.ipv6_enabled,
        "IPAM": {
            "Driver": "default",
            "Options": {},
            "Config": n.subnets.iter().map(|s| json!({"Subnet": s.subnet, "Gateway": s.gateway})).collect::<Vec<_>>(),
        },
        "Internal": n.internal,
        "Attachable": false,
        "Ingress": false,
        "Options": options,
        "Labels": n.labels,
        "Containers": {},
    })
}

/// `GET /networks[?filters=…]`: podman's `network ls` filters (name, id,
/// driver, label, label!, until, dangling).
pub fn networks(s: &Service, req: &Request) -> Result {
    let rows = s.engine.networks().rows(&filters(req)?)?;
    // The default network listed by Docker's name for it.
    let out = rows
        .iter()
        .map(|r| match r.inspect.name.as_str() {
            berth_engine::network::DEFAULT => network_named(&r.inspect, DOCKER_DEFAULT),
            _ => network(&r.inspect),
        })
        .collect::<Vec<_>>();
    Ok(Reply::Json(200, Value::Array(out)))
}

/// `bridge` is the default network, shown by that name; by its own name it
/// is shown as it is.
pub fn network_inspect(s: &Service, name: &str) -> Result {
    let n = s.engine.networks().inspect(network_name(name))?;
    Ok(Reply::Json(
        200,
        match name {
            DOCKER_DEFAULT => network_named(&n, DOCKER_DEFAULT),
            _ => network(&n),
        },
    ))
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct NetworkCreate {
    name: String,
    driver: String,
    internal: bool,
    #[serde(rename = "IPAM")]
    ipam: Option<Ipam>,
    options: Option<std::collections::BTreeMap<String, String>>,
    labels: Option<std::collections::BTreeMap<String, String>>,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: bool,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Ipam {
    config: Option<Vec<IpamConfig>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct IpamConfig {
    subnet: String,
    gateway: String,
    #[serde(rename = "IPRange")]
    ip_range: String,
}

pub fn network_create(s: &Service, req: &Request) -> Result {
    let body: NetworkCreate = crate::containers::json_body(req)?;
    if body.name.is_empty() {
        return Err(ApiError::bad_request("Name: a network needs a name"));
    }
    if !matches!(body.driver.as_str(), "" | "bridge") {
        return Err(ApiError::bad_request(format!(
            "Driver {:?}: only bridge networks are served",
            body.driver
        )));
    }
    let configs: Vec<IpamConfig> = body
        .ipam
        .and_then(|i| i.config)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| !c.subnet.is_empty())
        .collect();
    if configs.len() > 1 {
        return Err(ApiError::bad_request(
            "IPAM.Config: one subnet a network is served",
        ));
    }
    let config = configs.into_iter().next();
    let given = |v: &str| (!v.is_empty()).then(|| v.to_string());
    let mut options = body.options.unwrap_or_default();
    let disable_dns = options
        .remove("com.docker.network.bridge.enable_dns")
        .is_some_and(|v| v == "false");
    // As podman's compat API reads Docker's options: the MTU is taken, the
    // rest (the bridge's name …) is left to the backend.
    let mtu = options
        .remove("com.docker.network.driver.mtu")
        .or_else(|| options.remove("mtu"));
    let o = berth_engine::network::CreateOptions {
        subnet: config.as_ref().map(|c| c.subnet.clone()),
        gateway: config.as_ref().and_then(|c| given(&c.gateway)),
        ip_range: config.as_ref().and_then(|c| given(&c.ip_range)),
        internal: body.internal,
        disable_dns,
        ipv6: body.enable_ipv6,
        labels: body.labels.unwrap_or_default(),
        options: mtu.map(|m| ("mtu".to_string(), m)).into_iter().collect(),
        ..Default::default()
    };
    let n = s.engine.networks().create(&body.name, &o)?;
    Ok(Reply::Json(201, json!({"Id": n.id(), "Warning": ""})))
}

pub fn network_remove(s: &Service, name: &str) -> Result {
    s.engine.networks().remove(network_name(name))?;
    Ok(Reply::Empty(204))
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Connect {
    container: String,
    endpoint_config: Option<EndpointConfig>,
    force: bool,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct EndpointConfig {
    aliases: Option<Vec<String>>,
    #[serde(rename = "IPAMConfig")]
    ipam_config: Option<EndpointIpam>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct EndpointIpam {
    #[serde(rename = "IPv4Address")]
    ipv4_address: String,
}

pub fn network_connect(s: &Service, req: &Request, name: &str, connect: bool) -> Result {
    let body: Connect = crate::containers::json_body(req)?;
    if body.container.is_empty() {
        return Err(ApiError::bad_request(
            "Container: which container is missing",
        ));
    }
    let nets = s.engine.networks();
    let name = network_name(name);
    nets.inspect(name)?;
    if connect {
        let ep = body.endpoint_config.unwrap_or_default();
        let ip = ep.ipam_config.map(|i| i.ipv4_address).unwrap_or_default();
        let o = berth_engine::network::ConnectOptions {
            aliases: ep.aliases.unwrap_or_default(),
            ip: match ip.as_str() {
                "" => None,
                ip => Some(ip.parse().map_err(|_| {
                    ApiError::bad_request(format!(
                        "IPAMConfig.IPv4Address {ip:?}: not an IPv4 address"
                    ))
                })?),
            },
        };
        nets.connect(&body.container, name, &o)?;
    } else {
        nets.disconnect(&body.container, name, body.force)?;
    }
    Ok(Reply::Empty(200))
}

pub fn network_prune(s: &Service, req: &Request) -> Result {
    let gone = s.engine.networks().prune(&filters(req)?)?;
    Ok(Reply::Json(200, json!({"NetworksDeleted": gone})))
}

pub fn volume_prune(s: &Service, req: &Request) -> Result {
    let gone = s.engine.volumes().prune(&filters(req)?)?;
    Ok(Reply::Json(
        200,
        json!({"VolumesDeleted": gone, "SpaceReclaimed": 0}),
    ))
}

/// `GET /system/df`: what the store's images, containers and volumes take.
pub fn df(s: &Service) -> Result {
    let store = s.engine.store();
    let usage = berth_engine::df::DiskUse::measure(store).map_err(|e| ApiError::new(500, e))?;
    let every = berth_engine::images::ListOptions {
        all: true,
        ..Default::default()
    };
    let summaries = s.engine.images().list(&every)?;
    let size_of = |id: &str| {
        summaries
            .iter()
            .find(|i| i.id == id)
            .map_or((0, 0), |i| (i.size, i.created))
    };
    let images: Vec<Value> = usage
        .images
        .iter()
        .map(|u| {
            let (size, created) = size_of(&u.image.id);
            json!({
                "Id": format!("sha256:{}", u.image.id),
                "ParentId": "",
                "RepoTags": u.image.names,
                "RepoDigests": [],
                "Created": created,
                "Size": size,
                "SharedSize": u.shared,
                "VirtualSize": size,
                "Labels": {},
                "Containers": u.containers,
            })
        })
        .collect();
    let containers: Vec<Value> = usage
        .containers
        .iter()
        .map(|c| {
            json!({
                "Id": c.info.id,
                "Names": [format!("/{}", c.info.name())],
                "Image": c.info.config.image_name,
                "ImageID": format!("sha256:{}", c.info.config.image_id),
                "Command": c.info.config.args.join(" "),
                "Created": c.info.config.created_ns / 1_000_000_000,
                "State": c.info.state.status.as_str(),
                "SizeRw": c.rw,
                "SizeRootFs": c.rw,
            })
        })
        .collect();
    let volumes: Vec<Value> = usage
        .volumes
        .iter()
        .map(|v| json!({"Name": v.name, "Driver": "local", "UsageData": {"Size": v.size, "RefCount": v.links}}))
        .collect();
    let layers: u64 = usage.images.iter().map(|u| size_of(&u.image.id).0).sum();
    Ok(Reply::Json(
        200,
        json!({"LayersSize": layers, "Images": images, "Containers": containers, "Volumes": volumes, "BuildCache": []}),
    ))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AuthBody {
    username: String,
    password: String,
    serveraddress: String,
}

/// `POST /auth`: the credentials checked against the registry (the client
/// keeps them; the service keeps nothing).
pub fn auth(req: &Request) -> Result {
    let body: AuthBody = crate::containers::json_body(req)?;
    let server = body
        .serveraddress
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .trim_end_matches("/v2");
    if server.is_empty() || body.username.is_empty() {
        return Err(ApiError::bad_request(
            "serveraddress and username are needed",
        ));
    }
    let creds = berth_image::auth::Credentials {
        username: body.username,
        password: body.password,
    };
    let key = berth_image::auth::login_key(server);
    berth_engine::login::check(&key, &creds, None, None).map_err(|e| {
        let text = e.to_string();
        let status = if text.contains("401") || text.to_lowercase().contains("unauthorized") {
            401
        } else {
            500
        };
        ApiError::new(status, text)
    })?;
    Ok(Reply::Json(
        200,
        json!({"Status": "Login Succeeded", "IdentityToken": ""}),
    ))
}
