//! Where the probe itself runs: the signs of a container, or of a network namespace other than
//! the host's, that the collector found (cheaply, never failing). A metadata hop limit of 1 is a
//! problem only one hop behind the instance, so the diagnosis weighs a vanished IMDS token
//! answer against these signs.

use serde::{Deserialize, Serialize};

crate::wire_enum! {
    /// One kind of sign that the probe runs in a container or a non-host network namespace.
    pub enum ContainerSignKind {
        /// `/proc/self/ns/net` differs from `/proc/1/ns/net`.
        NetNamespace => "net_namespace",
        /// `/proc/self/cgroup` names docker, containerd, kubepods, ecs, libpod or lxc.
        Cgroup => "cgroup",
        /// `/.dockerenv` exists.
        Dockerenv => "dockerenv",
        /// `/run/.containerenv` exists (podman).
        Containerenv => "containerenv",
        /// `ECS_CONTAINER_METADATA_URI_V4` (or `_URI`) is set.
        EcsEnv => "ecs_env",
        /// `KUBERNETES_SERVICE_HOST` is set.
        KubernetesEnv => "kubernetes_env",
    }
}

/// One sign, with what was seen (a path, a cgroup line, a variable's name: never its value
/// when it could carry a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSign {
    pub kind: ContainerSignKind,
    pub detail: String,
}

/// The probe's own runtime environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeEvidence {
    /// Every sign of a container or a non-host network namespace (empty: none seen).
    #[serde(default)]
    pub container_signs: Vec<ContainerSign>,
    /// The gateway of the IPv4 default route (`/proc/net/route`), when readable: in a
    /// container it is the bridge (e.g. 172.17.0.1), on an instance the VPC router.
    #[serde(default)]
    pub default_gateway: Option<String>,
}

impl RuntimeEvidence {
    /// Any sign of a container or a non-host network namespace.
    pub fn in_container(&self) -> bool {
        !self.container_signs.is_empty()
    }
}
