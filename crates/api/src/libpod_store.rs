//! libpod's volume and network endpoints (`podman --remote volume …`,
//! `network …`): podman's own JSON, which the engine's reports already are.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::Request;
use crate::reply::{ApiError, Reply, Result};
use crate::{Service, system};

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("a report serialises")
}

pub fn volumes(s: &Service, req: &Request) -> Result {
    let all = s.engine.volumes().list(&system::filters(req)?)?;
    Ok(Reply::Json(
        200,
        Value::Array(all.iter().map(to_json).collect()),
    ))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct VolumeCreate {
    name: String,
    driver: String,
    label: std::collections::BTreeMap<String, String>,
    options: std::collections::BTreeMap<String, String>,
}

pub fn volume_create(s: &Service, req: &Request) -> Result {
    let body: VolumeCreate = crate::containers::json_body(req)?;
    if !matches!(body.driver.as_str(), "" | "local") {
        return Err(ApiError::bad_request(format!(
            "volume driver {:?}: only \"local\" is served",
            body.driver
        )));
    }
    let o = berth_engine::volumes::named::CreateOptions {
        labels: body.label,
        options: body.options,
    };
    let volumes = s.engine.volumes();
    let name = volumes.create(
        Some(body.name.as_str()).filter(|n| !n.is_empty()),
        false,
        &o,
    )?;
    Ok(Reply::Json(201, to_json(&volumes.inspect(&name)?)))
}

pub fn volume_inspect(s: &Service, name: &str) -> Result {
    Ok(Reply::Json(
        200,
        to_json(&s.engine.volumes().inspect(name)?),
    ))
}

pub fn volume_exists(s: &Service, name: &str) -> Result {
    match s.engine.volumes().exists(name) {
        true => Ok(Reply::Empty(204)),
        false => Err(ApiError::not_found(format!("no such volume {name}"))),
    }
}

pub fn volume_remove(s: &Service, req: &Request, name: &str) -> Result {
    let timeout = req
        .param("timeout")
        .and_then(|t| t.parse().ok())
        .unwrap_or(10);
    s.engine
        .volumes()
        .remove(name, req.flag("force"), timeout)?;
    Ok(Reply::Empty(204))
}

pub fn volume_prune(s: &Service, req: &Request) -> Result {
    let gone = s.engine.volumes().prune(&system::filters(req)?)?;
    let reports: Vec<Value> = gone.iter().map(|n| json!({"Id": n, "Size": 0})).collect();
    Ok(Reply::Json(200, Value::Array(reports)))
}

pub fn networks(s: &Service, req: &Request) -> Result {
    let rows = s.engine.networks().rows(&system::filters(req)?)?;
    let out = rows.iter().map(|r| to_json(&r.inspect)).collect();
    Ok(Reply::Json(200, Value::Array(out)))
}

/// netavark's network as podman sends it.
#[derive(Deserialize, Default)]
#[serde(default)]
struct NetworkCreate {
    name: String,
    driver: String,
    subnets: Vec<SubnetBody>,
    internal: bool,
    dns_enabled: Option<bool>,
    ipv6_enabled: bool,
    labels: Option<std::collections::BTreeMap<String, String>>,
    options: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SubnetBody {
    subnet: String,
    gateway: Option<String>,
    lease_range: Option<LeaseRangeBody>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LeaseRangeBody {
    start_ip: String,
    end_ip: String,
}

/// The `--ip-range` a lease range stands for: podman's client sends a
/// range's first host and last address (`ADDR+1`, its broadcast).
fn ip_range(r: &LeaseRangeBody) -> std::result::Result<String, ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "lease_range {}-{}: not a range in CIDR notation",
            r.start_ip, r.end_ip
        ))
    };
    let ip = |s: &str| {
        s.parse::<std::net::Ipv4Addr>()
            .map(u32::from)
            .map_err(|_| bad())
    };
    let (start, end) = (ip(&r.start_ip)?, ip(&r.end_ip)?);
    let base = start.checked_sub(1).ok_or_else(bad)?;
    if end < base {
        return Err(bad());
    }
    let size = (end - base).checked_add(1).ok_or_else(bad)?;
    if !size.is_power_of_two() || base % size != 0 {
        return Err(bad());
    }
    let len = 32 - size.trailing_zeros();
    Ok(format!("{}/{len}", std::net::Ipv4Addr::from(base)))
}

pub fn network_create(s: &Service, req: &Request) -> Result {
    let body: NetworkCreate = crate::containers::json_body(req)?;
    if !matches!(body.driver.as_str(), "" | "bridge") {
        return Err(ApiError::bad_request(format!(
            "driver {:?}: only bridge networks are served",
            body.driver
        )));
    }
    if body.subnets.len() > 1 {
        return Err(ApiError::bad_request(
            "subnets: one subnet a network is served",
        ));
    }
    let first = body
        .subnets
        .into_iter()
        .next()
        .filter(|s| !s.subnet.is_empty());
    let range = first.as_ref().and_then(|s| s.lease_range.as_ref());
    let o = berth_engine::network::CreateOptions {
        ip_range: range.map(ip_range).transpose()?,
        gateway: first.as_ref().and_then(|s| s.gateway.clone()),
        subnet: first.map(|s| s.subnet),
        internal: body.internal,
        disable_dns: body.dns_enabled == Some(false),
        ipv6: body.ipv6_enabled,
        labels: body.labels.unwrap_or_default(),
        options: body.options.unwrap_or_default(),
        ..Default::default()
    };
    let nets = s.engine.networks();
    // A nameless one gets the next free podmanN.
    let made = nets.create(&body.name, &o)?;
    Ok(Reply::Json(200, to_json(&nets.inspect(&made.name)?)))
}

pub fn network_inspect(s: &Service, name: &str) -> Result {
    Ok(Reply::Json(
        200,
        to_json(&s.engine.networks().inspect(name)?),
    ))
}

pub fn network_exists(s: &Service, name: &str) -> Result {
    match s.engine.networks().exists(name) {
        true => Ok(Reply::Empty(204)),
        false => Err(ApiError::not_found(format!(
            "network {name}: no such network"
        ))),
    }
}

pub fn network_remove(s: &Service, req: &Request, name: &str) -> Result {
    let nets = s.engine.networks();
    if req.flag("force") {
        let timeout = req
            .param("timeout")
            .and_then(|t| t.parse().ok())
            .unwrap_or(10);
        nets.remove_forced(name, timeout)?;
    } else {
        nets.remove(name)?;
    }
    Ok(Reply::Json(200, json!([{"Name": name, "Err": null}])))
}

/// `POST /libpod/secrets/create?name=NAME[&driver=file]`: the body is the data.
pub fn secret_create(s: &Service, req: &Request) -> Result {
    use berth_engine::secrets;
    let name = req
        .param("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("name: a secret needs a name"))?;
    let driver = req
        .param("driver")
        .filter(|d| !d.is_empty())
        .unwrap_or("file");
    let made = secrets::create(
        s.engine.store(),
        name,
        &req.body,
        driver,
        Default::default(),
    )
    .map_err(secret_error)?;
    Ok(Reply::Json(200, json!({"ID": made.id})))
}

pub fn secrets(s: &Service) -> Result {
    use berth_engine::secrets::{self, SecretInspect};
    let store = s.engine.store();
    let all: Vec<Value> = secrets::list(store)
        .iter()
        .map(|x| to_json(&SecretInspect::of(store, x)))
        .collect();
    Ok(Reply::Json(200, Value::Array(all)))
}

pub fn secret_inspect(s: &Service, name: &str) -> Result {
    use berth_engine::secrets::{self, SecretInspect};
    let store = s.engine.store();
    let found = secrets::find(store, name).map_err(secret_error)?;
    Ok(Reply::Json(200, to_json(&SecretInspect::of(store, &found))))
}

pub fn secret_remove(s: &Service, name: &str) -> Result {
    berth_engine::secrets::remove(s.engine.store(), name).map_err(secret_error)?;
    Ok(Reply::Empty(204))
}

fn secret_error(e: berth_engine::secrets::SecretError) -> ApiError {
    use berth_engine::secrets::SecretError as E;
    match e {
        E::NotFound(_) => ApiError::not_found(e),
        E::NameInUse(_) => ApiError::new(409, e),
        E::Io { .. } => ApiError::new(500, e),
        e => ApiError::bad_request(e),
    }
}
