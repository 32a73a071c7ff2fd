//! CIDR blocks: [`Cidr`] is `ipnet::IpNet`. [`parse_cidr`] reads the forms AWS and the probe
//! use (trimmed, a bare address is a host block, host bits cleared); [`cidr_contains`] tests an
//! address, an IPv4-mapped IPv6 address counting as the IPv4 address it carries. Serialized as
//! `"a.b.c.d/n"` (ipnet's form); the path types deserialize their blocks through [`parse_cidr`].

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

/// An IPv4 or IPv6 block. Serialized as `"10.0.0.0/16"` / `"2600:1f18::/32"`.
pub type Cidr = IpNet;

/// Parse `"10.0.0.0/16"` or `"2600:1f18::/32"`. Surrounding space is ignored, host bits are
/// cleared (`10.0.1.7/16` becomes `10.0.0.0/16`), and a bare address is a host block (`/32` or
/// `/128`). The prefix length is one to three decimal digits.
pub fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let s = s.trim();
    let (addr_part, len_part) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = addr_part
        .parse()
        .map_err(|_| format!("invalid CIDR {s:?}: {addr_part:?} is not an IP address"))?;
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len_part {
        None => max,
        Some(l) => {
            if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "invalid CIDR {s:?}: prefix length {l:?} is not a number"
                ));
            }
            let n: u16 = l.parse().map_err(|_| format!("invalid CIDR {s:?}"))?;
            if n > u16::from(max) {
                return Err(format!(
                    "invalid CIDR {s:?}: prefix length /{n} is longer than /{max}"
                ));
            }
            n as u8
        }
    };
    IpNet::new(addr, len)
        .map(|net| net.trunc())
        .map_err(|_| format!("invalid CIDR {s:?}"))
}

/// True when `ip` is inside `net`. Never across address families; an IPv4-mapped IPv6 address
/// (`::ffff:a.b.c.d`) counts as the IPv4 address it carries. Only the prefix counts: a block
/// built with host bits set still matches on its network.
pub fn cidr_contains(net: &Cidr, ip: IpAddr) -> bool {
    match (net, ip.to_canonical()) {
        (IpNet::V4(n), IpAddr::V4(a)) => n.contains(&a),
        (IpNet::V6(n), IpAddr::V6(a)) => n.contains(&a),
        _ => false,
    }
}

/// `deserialize_with` helpers: blocks read through [`parse_cidr`] (ipnet's own `Deserialize`
/// neither clears host bits nor takes a bare address).
pub(super) mod de {
    use super::*;

    struct Parsed(Cidr);

    impl<'de> Deserialize<'de> for Parsed {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = String::deserialize(d)?;
            parse_cidr(&s).map(Parsed).map_err(serde::de::Error::custom)
        }
    }

    fn unwrap(list: Vec<Parsed>) -> Vec<Cidr> {
        list.into_iter().map(|p| p.0).collect()
    }

    pub fn one<'de, D: Deserializer<'de>>(d: D) -> Result<Cidr, D::Error> {
        Parsed::deserialize(d).map(|p| p.0)
    }

    pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Cidr>, D::Error> {
        Vec::<Parsed>::deserialize(d).map(unwrap)
    }

    pub fn named_list<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<(String, Vec<Cidr>)>, D::Error> {
        Ok(Option::<(String, Vec<Parsed>)>::deserialize(d)?.map(|(id, l)| (id, unwrap(l))))
    }

    pub fn lists<'de, D: Deserializer<'de>>(d: D) -> Result<HashMap<String, Vec<Cidr>>, D::Error> {
        Ok(HashMap::<String, Vec<Parsed>>::deserialize(d)?
            .into_iter()
            .map(|(id, l)| (id, unwrap(l)))
            .collect())
    }
}
