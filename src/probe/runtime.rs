//! Where the probe runs: container and network-namespace signs, and the default gateway. Local
//! files and environment variables only, no network: bounded by construction, and every read
//! that fails (a hidden /proc, no permission) is simply no sign.

use std::path::Path;

use crate::evidence::{ContainerSign, ContainerSignKind, RuntimeEvidence};

/// cgroup path fragments that mean a container runtime.
const CGROUP_MARKS: &[&str] = &[
    "/docker",
    "docker-",
    "/containerd",
    "/kubepods",
    "/ecs/",
    "libpod",
    "/lxc",
];

/// Gather the runtime evidence of this process.
pub fn collect() -> RuntimeEvidence {
    let mut signs = Vec::new();
    if let (Ok(me), Ok(init)) = (
        std::fs::read_link("/proc/self/ns/net"),
        std::fs::read_link("/proc/1/ns/net"),
    ) && me != init
    {
        push(
            &mut signs,
            ContainerSignKind::NetNamespace,
            format!(
                "network namespace {} is not the host's {}",
                me.display(),
                init.display()
            ),
        );
    }
    // /proc/1 is often unreadable (no CAP_SYS_PTRACE): a namespace made by `ip netns` (or a
    // CNI plugin) is also known by its name under /run/netns
    if !signs
        .iter()
        .any(|s| s.kind == ContainerSignKind::NetNamespace)
        && let Some(name) = named_netns()
    {
        signs.push(ContainerSign {
            kind: ContainerSignKind::NetNamespace,
            detail: format!("in the named network namespace {name} (/run/netns)"),
        });
    }
    if let Ok(cg) = std::fs::read_to_string("/proc/self/cgroup")
        && let Some(line) = cg
            .lines()
            .find(|l| CGROUP_MARKS.iter().any(|m| l.contains(m)))
    {
        push(
            &mut signs,
            ContainerSignKind::Cgroup,
            format!(
                "/proc/self/cgroup: {}",
                line.chars().take(160).collect::<String>()
            ),
        );
    }
    for (path, kind) in [
        ("/.dockerenv", ContainerSignKind::Dockerenv),
        ("/run/.containerenv", ContainerSignKind::Containerenv),
    ] {
        if Path::new(path).exists() {
            push(&mut signs, kind, format!("{path} exists"));
        }
    }
    // the names only: the values are URLs and addresses, not needed to judge
    for (var, kind) in [
        ("ECS_CONTAINER_METADATA_URI_V4", ContainerSignKind::EcsEnv),
        ("ECS_CONTAINER_METADATA_URI", ContainerSignKind::EcsEnv),
        ("KUBERNETES_SERVICE_HOST", ContainerSignKind::KubernetesEnv),
    ] {
        if std::env::var_os(var).is_some_and(|v| !v.is_empty())
            && !signs.iter().any(|s| s.kind == kind)
        {
            signs.push(ContainerSign {
                kind,
                detail: format!("{var} is set"),
            });
        }
    }
    RuntimeEvidence {
        container_signs: signs,
        default_gateway: std::fs::read_to_string("/proc/net/route")
            .ok()
            .and_then(|t| default_gateway(&t)),
    }
}

fn push(signs: &mut Vec<ContainerSign>, kind: ContainerSignKind, detail: String) {
    signs.push(ContainerSign { kind, detail });
}

/// The name under /run/netns of this process's network namespace, if it has one (at most 256
/// entries are looked at).
fn named_netns() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let me = std::fs::metadata("/proc/self/ns/net").ok()?;
    std::fs::read_dir("/run/netns")
        .ok()?
        .take(256)
        .filter_map(Result::ok)
        .find(|e| {
            std::fs::metadata(e.path()).is_ok_and(|m| m.ino() == me.ino() && m.dev() == me.dev())
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
}

/// The gateway of the IPv4 default route in `/proc/net/route` (little-endian hex).
fn default_gateway(table: &str) -> Option<String> {
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 8 || f[1] != "00000000" || f[7] != "00000000" {
            return None;
        }
        let gw = u32::from_str_radix(f[2], 16).ok().filter(|g| *g != 0)?;
        Some(std::net::Ipv4Addr::from(gw.to_le_bytes()).to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_gateway_is_read_little_endian() {
        let t = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                 eth0\t0011AC0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                 eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
        assert_eq!(default_gateway(t).as_deref(), Some("172.17.0.1"));
        assert_eq!(default_gateway("Iface\tDestination\n"), None);
    }
}
