//! Helpers for rule authors (docs/rules.md, "Helpers: networks, ports, tags and policies"): IP
//! addresses and CIDRs, the ports and sources of security group permissions, tags, and
//! policy documents (resource policies are JSON texts inside the JSON of their call).
//!
//! Malformed input is never an error here: `cidr`/`ip`/`permission_ports` answer `()` and
//! the predicates `false`, so one odd value in a snapshot cannot turn a rule into an error.
//! Values read from the snapshot keep their place (the CIDRs of a permission, tag values),
//! so a finding reported at one points at it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position};

use super::api::{Doc, Node};

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// `cidr(text)`: an IPv4 or IPv6 network, as written (host bits may be set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network(pub IpNet);

/// `ip(text)`: an IPv4 or IPv6 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Address(pub IpAddr);

// ---------------------------------------------------------------------------------------
// Networks

/// An address as `std::net` reads it: dotted IPv4 without leading zeros, or IPv6 without a
/// zone; nothing around it.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

/// A CIDR, `address/length`: the address as [`parse_ip`], the length in decimal without
/// sign or leading zeros, at most 32 (IPv4) or 128 (IPv6). Host bits may be set:
/// `10.1.2.3/8` is the network 10.0.0.0/8, written with one of its addresses.
pub fn parse_cidr(text: &str) -> Option<IpNet> {
    let (addr, len) = text.split_once('/')?;
    let digits = !len.is_empty() && len.len() <= 3 && len.bytes().all(|b| b.is_ascii_digit());
    if !digits || (len.len() > 1 && len.starts_with('0')) {
        return None;
    }
    IpNet::new(parse_ip(addr)?, len.parse().ok()?).ok()
}

/// A network from a CIDR, an address (a /32 or /128), or a value of `cidr()`/`ip()`.
fn net_of(value: &Dynamic) -> Option<IpNet> {
    if let Some(s) = value.read_lock::<ImmutableString>() {
        return parse_cidr(&s).or_else(|| parse_ip(&s).map(IpNet::from));
    }
    if let Some(n) = value.read_lock::<Network>() {
        return Some(n.0);
    }
    value.read_lock::<Address>().map(|a| IpNet::from(a.0))
}

/// `a` contains every address of `b` (false across IPv4 and IPv6).
pub fn contains(a: &IpNet, b: &IpNet) -> bool {
    a.contains(b)
}

/// CIDRs either nest or are disjoint: they overlap when one contains the other.
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(b) || b.contains(a)
}

/// IPv4 ranges whose addresses are not public (IANA special-purpose registry).
const V4_NOT_PUBLIC: [Ipv4Net; 14] = [
    v4(0, 0, 0, 0, 8),       // "this network" (RFC 791)
    v4(10, 0, 0, 0, 8),      // private (RFC 1918)
    v4(100, 64, 0, 0, 10),   // shared address space, CGNAT (RFC 6598)
    v4(127, 0, 0, 0, 8),     // loopback
    v4(169, 254, 0, 0, 16),  // link-local
    v4(172, 16, 0, 0, 12),   // private (RFC 1918)
    v4(192, 0, 0, 0, 24),    // IETF protocol assignments (RFC 6890)
    v4(192, 0, 2, 0, 24),    // documentation, TEST-NET-1 (RFC 5737)
    v4(192, 168, 0, 0, 16),  // private (RFC 1918)
    v4(198, 18, 0, 0, 15),   // benchmarking (RFC 2544)
    v4(198, 51, 100, 0, 24), // documentation, TEST-NET-2
    v4(203, 0, 113, 0, 24),  // documentation, TEST-NET-3
    v4(224, 0, 0, 0, 4),     // multicast
    v4(240, 0, 0, 0, 4),     // reserved, and the broadcast address
];

/// IPv6 ranges whose addresses are not public. IPv4-mapped addresses (::ffff:0:0/96) are
/// judged as the IPv4 address they carry.
const V6_NOT_PUBLIC: [Ipv6Net; 11] = [
    v6([0, 0, 0, 0, 0, 0, 0, 0], 128),         // unspecified
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128),         // loopback
    v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),  // local-use NAT64 (RFC 8215)
    v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64),      // discard-only (RFC 6666)
    v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48),     // benchmarking (RFC 5180)
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation (RFC 3849)
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),     // documentation (RFC 9637)
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),      // unique local addresses (RFC 4193)
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),     // link-local
    v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),     // site-local (deprecated)
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8),      // multicast
];

const V4_MAPPED: Ipv6Net = v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96);

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

const fn v6(s: [u16; 8], len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(
        Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
        len,
    )
}

/// Every address of `net` is in a range that is not public.
pub fn not_public(net: &IpNet) -> bool {
    match net {
        IpNet::V4(n) => v4_not_public(*n),
        IpNet::V6(n) => v6_not_public(*n),
    }
}

// A range that contains `n` decides; a network no range overlaps is public; otherwise the
// two halves decide (a range lies inside `n`, so `n` is not a single address).
fn v4_not_public(n: Ipv4Net) -> bool {
    if V4_NOT_PUBLIC.iter().any(|r| r.contains(&n)) {
        return true;
    }
    if !V4_NOT_PUBLIC.iter().any(|r| n.contains(r)) {
        return false;
    }
    n.subnets(n.prefix_len() + 1)
        .map(|mut halves| halves.all(v4_not_public))
        .unwrap_or(false)
}

fn v6_not_public(n: Ipv6Net) -> bool {
    if V4_MAPPED.contains(&n) {
        let carried = n
            .network()
            .to_ipv4_mapped()
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        return Ipv4Net::new(carried, n.prefix_len() - 96)
            .map(v4_not_public)
            .unwrap_or(false);
    }
    if V6_NOT_PUBLIC.iter().any(|r| r.contains(&n)) {
        return true;
    }
    if !V6_NOT_PUBLIC
        .iter()
        .chain([&V4_MAPPED])
        .any(|r| n.contains(r))
    {
        return false;
    }
    n.subnets(n.prefix_len() + 1)
        .map(|mut halves| halves.all(v6_not_public))
        .unwrap_or(false)
}

/// `is_public`: a valid address or network with at least one public address.
fn is_public(value: &Dynamic) -> bool {
    net_of(value).is_some_and(|n| !not_public(&n))
}

/// `is_private`: a valid address or network with no public address.
fn is_private(value: &Dynamic) -> bool {
    net_of(value).is_some_and(|n| not_public(&n))
}

/// `cidr_contains`: `net` (or any network of an array of them) contains all of `inner`.
fn cidr_contains(net: &Dynamic, inner: &Dynamic) -> bool {
    let Some(inner) = net_of(inner) else {
        return false;
    };
    if let Some(nets) = net.read_lock::<Array>() {
        return nets
            .iter()
            .any(|n| net_of(n).is_some_and(|n| contains(&n, &inner)));
    }
    net_of(net).is_some_and(|n| contains(&n, &inner))
}

fn register_networks(engine: &mut Engine) {
    engine
        .register_type_with_name::<Network>("network")
        .register_type_with_name::<Address>("address")
        .register_fn("cidr", |text: Dynamic| -> Dynamic {
            if let Some(n) = text.read_lock::<Network>() {
                return Dynamic::from(*n);
            }
            match text
                .read_lock::<ImmutableString>()
                .and_then(|s| parse_cidr(&s))
            {
                Some(n) => Dynamic::from(Network(n)),
                None => Dynamic::UNIT,
            }
        })
        .register_fn("ip", |text: Dynamic| -> Dynamic {
            if let Some(a) = text.read_lock::<Address>() {
                return Dynamic::from(*a);
            }
            match text
                .read_lock::<ImmutableString>()
                .and_then(|s| parse_ip(&s))
            {
                Some(a) => Dynamic::from(Address(a)),
                None => Dynamic::UNIT,
            }
        })
        .register_fn("is_cidr", |text: Dynamic| {
            text.is::<Network>()
                || text
                    .read_lock::<ImmutableString>()
                    .is_some_and(|s| parse_cidr(&s).is_some())
        })
        .register_fn("is_ip", |text: Dynamic| {
            text.is::<Address>()
                || text
                    .read_lock::<ImmutableString>()
                    .is_some_and(|s| parse_ip(&s).is_some())
        })
        .register_get("prefix", |n: &mut Network| i64::from(n.0.prefix_len()))
        .register_get("version", |n: &mut Network| version(&n.0.addr()))
        .register_get("address", |n: &mut Network| n.0.addr().to_string())
        .register_get("network", |n: &mut Network| n.0.trunc().to_string())
        .register_get("version", |a: &mut Address| version(&a.0))
        .register_fn("to_string", |n: &mut Network| n.0.to_string())
        .register_fn("to_debug", |n: &mut Network| n.0.to_string())
        .register_fn("to_string", |a: &mut Address| a.0.to_string())
        .register_fn("to_debug", |a: &mut Address| a.0.to_string())
        .register_fn("==", |a: Network, b: Network| a.0.trunc() == b.0.trunc())
        .register_fn("!=", |a: Network, b: Network| a.0.trunc() != b.0.trunc())
        .register_fn("==", |a: Address, b: Address| a == b)
        .register_fn("!=", |a: Address, b: Address| a != b)
        .register_fn("cidr_contains", |net: Dynamic, inner: Dynamic| {
            cidr_contains(&net, &inner)
        })
        .register_fn("cidr_overlaps", |a: Dynamic, b: Dynamic| {
            match (net_of(&a), net_of(&b)) {
                (Some(a), Some(b)) => overlaps(&a, &b),
                _ => false,
            }
        })
        .register_fn("is_world", |net: Dynamic| {
            net_of(&net).is_some_and(|n| n.prefix_len() == 0)
        })
        .register_fn("is_public", |x: Dynamic| is_public(&x))
        .register_fn("is_private", |x: Dynamic| is_private(&x));
    // As in api::register_comparisons: a network compared with a string is a mistake in
    // the rule, not `false`.
    fn mismatch(a: &str) -> RhaiResult<bool> {
        Err(Box::new(EvalAltResult::ErrorRuntime(
            Dynamic::from(format!(
                "cannot compare {a} with a string: compare `cidr(text)` or `ip(text)`, or use cidr_contains"
            )),
            Position::NONE,
        )))
    }
    for op in ["==", "!="] {
        engine
            .register_fn(op, |_: Network, _: ImmutableString| mismatch("a network"))
            .register_fn(op, |_: ImmutableString, _: Network| mismatch("a network"))
            .register_fn(op, |_: Address, _: ImmutableString| mismatch("an address"))
            .register_fn(op, |_: ImmutableString, _: Address| mismatch("an address"));
    }
}

fn version(a: &IpAddr) -> i64 {
    match a {
        IpAddr::V4(_) => 4,
        IpAddr::V6(_) => 6,
    }
}

// ---------------------------------------------------------------------------------------
// Ports

/// A security group permission's `IpProtocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `-1`: every protocol and port.
    All,
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    /// Another protocol number: AWS admits all of its traffic, whatever the ports say.
    Other(u8),
}

impl Protocol {
    /// From a name (`tcp`, `udp`, `icmp`, `icmpv6`, any case), a number (`"6"`, `17`), or
    /// `-1` / `"-1"` / `"all"`.
    pub fn parse(value: &Dynamic) -> Option<Protocol> {
        if let Ok(n) = value.as_int() {
            return Protocol::number(n);
        }
        let text = value.read_lock::<ImmutableString>()?.to_ascii_lowercase();
        match text.as_str() {
            "-1" | "all" => Some(Protocol::All),
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "icmp" => Some(Protocol::Icmp),
            "icmpv6" => Some(Protocol::Icmpv6),
            t if !t.is_empty() && t.len() <= 3 && t.bytes().all(|b| b.is_ascii_digit()) => {
                Protocol::number(t.parse().ok()?)
            }
            _ => None,
        }
    }

    fn number(n: i64) -> Option<Protocol> {
        Some(match n {
            -1 => Protocol::All,
            1 => Protocol::Icmp,
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            58 => Protocol::Icmpv6,
            _ => Protocol::Other(u8::try_from(n).ok()?),
        })
    }

    /// `all`, `tcp`, `udp`, `icmp`, `icmpv6`, or the number.
    pub fn name(self) -> String {
        match self {
            Protocol::All => "all".into(),
            Protocol::Tcp => "tcp".into(),
            Protocol::Udp => "udp".into(),
            Protocol::Icmp => "icmp".into(),
            Protocol::Icmpv6 => "icmpv6".into(),
            Protocol::Other(n) => n.to_string(),
        }
    }
}

/// An integer, or a string of one (`"22"`, `"-1"`).
fn int_of(value: &Dynamic) -> Option<i64> {
    if let Ok(n) = value.as_int() {
        return Some(n);
    }
    value.read_lock::<ImmutableString>()?.parse().ok()
}

/// A `FromPort`/`ToPort`: `Some(None)` when absent or -1 (no bound), `None` when malformed.
fn bound(value: &Dynamic) -> Option<Option<i64>> {
    if value.is_unit() {
        return Some(None);
    }
    match int_of(value)? {
        -1 => Some(None),
        n if n >= 0 => Some(Some(n)),
        _ => None,
    }
}

/// A port to test: 0 to 65535.
fn port_of(value: &Dynamic) -> Option<i64> {
    int_of(value).filter(|p| (0..=65_535).contains(p))
}

/// `port_in_range`: a bound that is absent or -1 is open (0, or 65535).
fn port_in_range(port: &Dynamic, from: &Dynamic, to: &Dynamic) -> bool {
    match (port_of(port), bound(from), bound(to)) {
        (Some(p), Some(lo), Some(hi)) => lo.unwrap_or(0) <= p && p <= hi.unwrap_or(65_535),
        _ => false,
    }
}

/// What a permission admits, read from `IpProtocol`, `FromPort` and `ToPort`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    pub protocol: Protocol,
    /// For tcp and udp the lowest port, for icmp the type; `None` for absent or -1.
    pub from: Option<i64>,
    /// For tcp and udp the highest port, for icmp the code; `None` for absent or -1.
    pub to: Option<i64>,
}

impl Permission {
    /// `None` when `IpProtocol` is absent or unknown, or a port is not a number ≥ -1.
    fn read(perm: &Dynamic) -> Option<Permission> {
        Some(Permission {
            protocol: Protocol::parse(&member(perm, "IpProtocol"))?,
            from: bound(&member(perm, "FromPort"))?,
            to: bound(&member(perm, "ToPort"))?,
        })
    }

    /// The port range of tcp and udp (every port when a bound is missing).
    fn range(&self) -> (i64, i64) {
        (self.from.unwrap_or(0), self.to.unwrap_or(65_535))
    }

    /// `permission_allows(perm, port)`: all traffic, or tcp or udp on `port`.
    fn allows_port(&self, port: i64) -> bool {
        match self.protocol {
            Protocol::All => true,
            Protocol::Tcp | Protocol::Udp => {
                let (lo, hi) = self.range();
                lo <= port && port <= hi
            }
            _ => false,
        }
    }

    /// `permission_allows(perm, protocol, port)`: traffic of `protocol` to `port` (for
    /// icmp, of ICMP type `port`; for other protocols the port does not matter).
    fn allows(&self, protocol: Protocol, port: &Dynamic) -> bool {
        if self.protocol == Protocol::All {
            return true;
        }
        if self.protocol != protocol {
            return false;
        }
        match protocol {
            Protocol::Tcp | Protocol::Udp => port_of(port).is_some_and(|p| self.allows_port(p)),
            Protocol::Icmp | Protocol::Icmpv6 => match self.from {
                None => true,
                Some(t) => int_of(port) == Some(t),
            },
            Protocol::All | Protocol::Other(_) => true,
        }
    }

    /// `permission_ports(perm)`.
    fn to_map(self) -> Map {
        let name = self.protocol.name();
        let (from, to, all, text) = match self.protocol {
            Protocol::All => (0, 65_535, true, "all traffic".to_owned()),
            Protocol::Tcp | Protocol::Udp => {
                let (lo, hi) = self.range();
                let text = if lo == hi {
                    format!("{name}/{lo}")
                } else {
                    format!("{name}/{lo}-{hi}")
                };
                (lo, hi, lo == 0 && hi >= 65_535, text)
            }
            Protocol::Icmp | Protocol::Icmpv6 => {
                let text = match (self.from, self.to) {
                    (None, _) => format!("{name}/all"),
                    (Some(t), None) => format!("{name} type {t}"),
                    (Some(t), Some(c)) => format!("{name} type {t} code {c}"),
                };
                (
                    self.from.unwrap_or(-1),
                    self.to.unwrap_or(-1),
                    self.from.is_none(),
                    text,
                )
            }
            Protocol::Other(n) => (0, 65_535, true, format!("protocol {n}")),
        };
        let mut map = Map::new();
        map.insert("protocol".into(), Dynamic::from(name));
        map.insert("from".into(), Dynamic::from(from));
        map.insert("to".into(), Dynamic::from(to));
        map.insert("all_ports".into(), Dynamic::from(all));
        map.insert("text".into(), Dynamic::from(text));
        map
    }
}

/// `permission_cidrs(perm)`: the `IpRanges[].CidrIp` and `Ipv6Ranges[].CidrIpv6` values,
/// as read (they keep their place).
fn permission_cidrs(perm: &Dynamic) -> Array {
    let mut out = Array::new();
    for (list, key) in [("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")] {
        for range in elements(&member(perm, list)).unwrap_or_default() {
            let cidr = member(&range, key);
            if !cidr.is_unit() {
                out.push(cidr);
            }
        }
    }
    out
}

fn register_ports(engine: &mut Engine) {
    engine
        .register_fn(
            "port_in_range",
            |port: Dynamic, from: Dynamic, to: Dynamic| port_in_range(&port, &from, &to),
        )
        .register_fn("permission_ports", |perm: Dynamic| -> Dynamic {
            match Permission::read(&perm) {
                Some(p) => Dynamic::from_map(p.to_map()),
                None => Dynamic::UNIT,
            }
        })
        .register_fn("permission_allows", |perm: Dynamic, port: Dynamic| {
            match (Permission::read(&perm), port_of(&port)) {
                (Some(p), Some(port)) => p.allows_port(port),
                _ => false,
            }
        })
        .register_fn(
            "permission_allows",
            |perm: Dynamic, protocol: Dynamic, port: Dynamic| match (
                Permission::read(&perm),
                Protocol::parse(&protocol),
            ) {
                (Some(p), Some(protocol)) => p.allows(protocol, &port),
                _ => false,
            },
        )
        .register_fn("permission_cidrs", |perm: Dynamic| permission_cidrs(&perm));
}

// ---------------------------------------------------------------------------------------
// Reading nodes, maps and arrays alike

/// A member of a node or map; `()` otherwise.
fn member(value: &Dynamic, key: &str) -> Dynamic {
    if let Some(n) = value.read_lock::<Node>() {
        return n.get(key);
    }
    if let Some(m) = value.read_lock::<Map>() {
        return m.get(key).cloned().unwrap_or(Dynamic::UNIT);
    }
    Dynamic::UNIT
}

/// The elements of an array node or array.
fn elements(value: &Dynamic) -> Option<Vec<Dynamic>> {
    if let Some(n) = value.read_lock::<Node>() {
        return n.elements();
    }
    value.read_lock::<Array>().map(|a| a.to_vec())
}

/// The members of an object node or map.
fn members(value: &Dynamic) -> Option<Vec<(ImmutableString, Dynamic)>> {
    if let Some(n) = value.read_lock::<Node>() {
        return n.members();
    }
    value.read_lock::<Map>().map(|m| {
        m.iter()
            .map(|(k, v)| (ImmutableString::from(k.as_str()), v.clone()))
            .collect()
    })
}

// ---------------------------------------------------------------------------------------
// Tags

/// Where resources keep their tags: EC2, IAM, ELB, KMS and most others `Tags`; RDS and
/// others `TagList`; S3 `TagSet`; CloudTrail `TagsList`; ECS, EKS, Lambda-style APIs `tags`.
pub const TAG_MEMBERS: [&str; 5] = ["Tags", "TagList", "TagSet", "TagsList", "tags"];

/// The key and value members of one tag of a list: `Key`/`Value` (EC2, IAM, RDS, S3, …),
/// `key`/`value` (ECS, …), `TagKey`/`TagValue` (KMS).
pub const TAG_FIELDS: [(&str, &str); 3] =
    [("Key", "Value"), ("key", "value"), ("TagKey", "TagValue")];

/// The tags of a resource, a response or a tag list, as (key, value) in their order: a
/// list of key/value objects; a map of key → value; or a CloudFront-style `{Items: […]}`.
fn tag_entries(of: &Dynamic) -> RhaiResult<Vec<(ImmutableString, Dynamic)>> {
    let root;
    let of = match of.read_lock::<Doc>() {
        Some(doc) => {
            root = Dynamic::from(doc.root()?);
            &root
        }
        None => of,
    };
    if let Some(items) = elements(of) {
        return Ok(from_list(&items));
    }
    let Some(found) = TAG_MEMBERS
        .iter()
        .map(|k| member(of, k))
        .find(|v| !v.is_unit())
    else {
        return Ok(Vec::new());
    };
    if let Some(items) = elements(&found).or_else(|| elements(&member(&found, "Items"))) {
        return Ok(from_list(&items));
    }
    Ok(members(&found)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| !(v.is::<Node>() || v.is_map() || v.is_array()))
        .collect())
}

fn from_list(items: &[Dynamic]) -> Vec<(ImmutableString, Dynamic)> {
    items
        .iter()
        .filter_map(|item| {
            TAG_FIELDS.iter().find_map(|(k, v)| {
                let key = member(item, k).read_lock::<ImmutableString>()?.clone();
                Some((key, member(item, v)))
            })
        })
        .collect()
}

/// The value of the tag `key`: the exact key first, then (with `ignore_case`) the first key
/// equal to it ignoring case. `None` when there is no such tag.
fn tag_lookup(of: &Dynamic, key: &str, ignore_case: bool) -> RhaiResult<Option<Dynamic>> {
    let entries = tag_entries(of)?;
    if let Some((_, v)) = entries.iter().find(|(k, _)| k.as_str() == key) {
        return Ok(Some(v.clone()));
    }
    if !ignore_case {
        return Ok(None);
    }
    let lower = key.to_lowercase();
    Ok(entries
        .into_iter()
        .find(|(k, _)| k.to_lowercase() == lower)
        .map(|(_, v)| v))
}

fn register_tags(engine: &mut Engine) {
    engine
        .register_fn("tags", |of: Dynamic| -> RhaiResult<Map> {
            Ok(tag_entries(&of)?
                .into_iter()
                .map(|(k, v)| (k.as_str().into(), v))
                .collect())
        })
        .register_fn("tag", |of: Dynamic, key: &str| -> RhaiResult<Dynamic> {
            Ok(tag_lookup(&of, key, true)?.unwrap_or(Dynamic::UNIT))
        })
        .register_fn(
            "tag_value",
            |of: Dynamic, key: &str, ignore_case: bool| -> RhaiResult<Dynamic> {
                Ok(tag_lookup(&of, key, ignore_case)?.unwrap_or(Dynamic::UNIT))
            },
        )
        .register_fn("has_tag", |of: Dynamic, key: &str| -> RhaiResult<bool> {
            Ok(tag_lookup(&of, key, true)?.is_some())
        });
}

// ---------------------------------------------------------------------------------------
// Policy documents

/// `policy_document(x)`: a policy document as a value. S3, SQS, SNS, Lambda, KMS and
/// Secrets Manager answer with the document as a JSON text: it is parsed (strictly) into a
/// plain map. A node or map (IAM's documents, already decoded by the aws CLI) is returned
/// as it is, keeping its place. `()` for anything else: `()`, a text that is not a JSON
/// object.
fn policy_document(x: &Dynamic) -> Dynamic {
    if x.is::<Node>() || x.is_map() {
        return x.clone();
    }
    let Some(text) = x.read_lock::<ImmutableString>() else {
        return Dynamic::UNIT;
    };
    match crate::snapshot::parse::parse(text.as_str()) {
        Ok(value @ crate::snapshot::value::Value::Object(_)) => super::api::plain(&value),
        _ => Dynamic::UNIT,
    }
}

/// A value that is one item or a list of them (a policy's `Statement`, `Action`,
/// `Resource`, a principal's `AWS`, a condition's values), as a list; `()` is `[]`.
fn one_or_many(x: &Dynamic) -> Array {
    if x.is_unit() {
        return Array::new();
    }
    elements(x).unwrap_or_else(|| vec![x.clone()])
}

/// `Principal` is `"*"`, or names `"*"` among its `AWS` principals.
fn principal_is_public(principal: &Dynamic) -> bool {
    let star = |v: &Dynamic| {
        v.read_lock::<ImmutableString>()
            .is_some_and(|s| s.as_str() == "*")
    };
    star(principal) || one_or_many(&member(principal, "AWS")).iter().any(star)
}

fn register_policies(engine: &mut Engine) {
    engine
        .register_fn("policy_document", |x: Dynamic| policy_document(&x))
        .register_fn("policy_statements", |doc: Dynamic| {
            one_or_many(&member(&doc, "Statement"))
        })
        .register_fn("policy_values", |x: Dynamic| one_or_many(&x))
        .register_fn("principal_is_public", |p: Dynamic| principal_is_public(&p))
        .register_fn("path_segment", |x: &str| {
            crate::snapshot::catalogue::safe_segment(x)
        });
}

/// Registers the helpers on `engine` (after the host API: they read its nodes).
pub fn register(engine: &mut Engine) {
    register_networks(engine);
    register_ports(engine);
    register_tags(engine);
    register_policies(engine);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rhai::Scope;

    use super::*;
    use crate::snapshot::DocStatus;

    fn engine() -> Engine {
        super::super::sandbox::engine(&crate::config::Config::defaults().limits)
    }

    /// Evaluates `script` with `doc` bound to a document of `json` (path `t/doc.json`).
    fn eval_on<T: std::any::Any + Clone>(json: &str, script: &str) -> T {
        let mut file = crate::snapshot::load::placeholder("t/doc.json", DocStatus::Ok);
        file.data = Some(crate::snapshot::parse::parse(json).unwrap());
        let mut scope = Scope::new();
        scope.push("doc", Doc(Arc::new(file)));
        let value = engine()
            .eval_with_scope::<Dynamic>(&mut scope, script)
            .unwrap_or_else(|e| panic!("{script}: {e}"));
        cast(value, script)
    }

    fn cast<T: std::any::Any + Clone>(value: Dynamic, script: &str) -> T {
        let kind = value.type_name();
        value
            .try_cast::<T>()
            .unwrap_or_else(|| panic!("{script}: a {kind}"))
    }

    fn eval<T: std::any::Any + Clone>(script: &str) -> T {
        let value = engine()
            .eval::<Dynamic>(script)
            .unwrap_or_else(|e| panic!("{script}: {e}"));
        cast(value, script)
    }

    fn net(text: &str) -> IpNet {
        parse_cidr(text).unwrap_or_else(|| panic!("{text} parses"))
    }

    #[test]
    fn cidrs_and_addresses_parse_strictly() {
        for ok in [
            "10.0.0.0/8",
            "10.1.2.3/8",
            "0.0.0.0/0",
            "192.168.1.1/32",
            "::/0",
            "2001:db8::/32",
            "::ffff:10.0.0.1/128",
            "fe80::1/64",
        ] {
            assert!(parse_cidr(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "10.0.0.0",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/08",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "10.0.0/8",
            "010.0.0.0/8",
            "10.0.0.256/8",
            " 10.0.0.0/8",
            "10.0.0.0/8 ",
            "10.0.0.0/8/8",
            "::/129",
            "fe80::1%eth0/64",
            "garbage",
            "10.0.0.0/1000",
        ] {
            assert!(parse_cidr(bad).is_none(), "{bad:?}");
        }
        assert!(parse_ip("10.0.0.1").is_some());
        assert!(parse_ip("2001:db8::1").is_some());
        for bad in ["10.0.0.1/32", "10.0.0", "01.0.0.1", "::g", ""] {
            assert!(parse_ip(bad).is_none(), "{bad:?}");
        }
        assert_eq!(net("10.1.2.3/8").trunc(), net("10.0.0.0/8"));
    }

    #[test]
    fn containment_and_overlap_stay_within_a_family() {
        assert!(contains(&net("10.0.0.0/8"), &net("10.20.0.0/16")));
        assert!(contains(&net("10.0.0.0/8"), &net("10.0.0.0/8")));
        assert!(!contains(&net("10.20.0.0/16"), &net("10.0.0.0/8")));
        assert!(
            contains(&net("10.1.2.3/8"), &net("10.200.0.0/16")),
            "host bits ignored"
        );
        assert!(!contains(&net("10.0.0.0/8"), &net("11.0.0.0/16")));
        assert!(contains(&net("::/0"), &net("2001:db8::/32")));
        assert!(!contains(&net("0.0.0.0/0"), &net("::/0")));
        assert!(!contains(&net("::/0"), &net("0.0.0.0/0")));
        assert!(!contains(&net("::/0"), &net("10.0.0.0/8")));
        assert!(overlaps(&net("10.0.0.0/8"), &net("10.1.0.0/16")));
        assert!(overlaps(&net("10.1.0.0/16"), &net("10.0.0.0/8")));
        assert!(!overlaps(&net("10.0.0.0/8"), &net("192.168.0.0/16")));
        assert!(!overlaps(&net("0.0.0.0/0"), &net("::/0")));
    }

    #[test]
    fn public_means_any_public_address() {
        let public = |t: &str| !not_public(&net(t));
        for p in [
            "0.0.0.0/0",
            "::/0",
            "8.8.8.8/32",
            "10.0.0.0/7", // 11.0.0.0/8 is public
            "172.32.0.0/16",
            "100.128.0.0/16",
            "192.0.3.0/24",
            "2600:1f18::/36",
            "::ffff:8.8.8.8/128",
            "::ffff:0:0/96",
            "224.0.0.0/2", // 192.0.0.0/2 has public addresses
        ] {
            assert!(public(p), "{p} is public");
        }
        for np in [
            "10.0.0.0/8",
            "10.20.30.40/32",
            "172.16.0.0/12",
            "172.31.255.255/32",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "127.0.0.1/32",
            "169.254.169.254/32",
            "192.0.2.0/24",
            "198.51.100.7/32",
            "203.0.113.0/24",
            "198.18.0.0/15",
            "224.0.0.0/3", // multicast and reserved together
            "255.255.255.255/32",
            "0.0.0.0/32",
            "fd00::/8",
            "fc00::/7",
            "fe80::/10",
            "::1/128",
            "::/128",
            "2001:db8::/32",
            "3fff::/20",
            "ff02::1/128",
            "::ffff:10.0.0.1/128",
            "::ffff:192.168.0.0/112",
        ] {
            assert!(!public(np), "{np} is not public");
        }
    }

    #[test]
    fn network_functions_answer_false_or_unit_for_malformed_input() {
        assert!(eval::<bool>(r#"cidr_contains("10.0.0.0/8", "10.1.2.3")"#));
        assert!(eval::<bool>(
            r#"cidr_contains("10.0.0.0/8", "10.1.0.0/16")"#
        ));
        assert!(!eval::<bool>(
            r#"cidr_contains("10.1.0.0/16", "10.0.0.0/8")"#
        ));
        assert!(eval::<bool>(r#"cidr_contains("10.0.0.1", "10.0.0.1")"#));
        assert!(eval::<bool>(
            r#"cidr_contains(cidr("2001:db8::/32"), ip("2001:db8::1"))"#
        ));
        assert!(!eval::<bool>(r#"cidr_contains("0.0.0.0/0", "::1")"#));
        assert!(eval::<bool>(
            r#"cidr_contains(["x", "192.168.0.0/16", "10.0.0.0/8"], "10.9.9.9")"#
        ));
        assert!(!eval::<bool>(r#"cidr_contains([], "10.9.9.9")"#));
        assert!(eval::<bool>(
            r#"cidr_overlaps("10.0.0.0/8", "10.255.0.0/16")"#
        ));
        assert!(eval::<bool>(
            r#"cidr_overlaps("fd00::/8", "fd12:3456::/48")"#
        ));
        assert!(eval::<bool>(r#"is_world("0.0.0.0/0") && is_world("::/0")"#));
        assert!(!eval::<bool>(
            r#"is_world("0.0.0.0/1") || is_world("0.0.0.0")"#
        ));
        assert!(eval::<bool>(
            r#"is_public("8.8.8.8") && is_private("10.1.1.1")"#
        ));
        assert!(eval::<bool>(
            r#"is_public("0.0.0.0/0") && !is_private("0.0.0.0/0")"#
        ));
        assert!(eval::<bool>(
            r#"is_private(ip("fd00::1")) && is_public(cidr("2600::/16"))"#
        ));
        for bad in [r#""10.0.0.0/33""#, r#""nonsense""#, "()", "42", "[]", "#{}"] {
            for f in ["is_public", "is_private", "is_world", "is_cidr", "is_ip"] {
                assert!(!eval::<bool>(&format!("{f}({bad})")), "{f}({bad})");
            }
            assert!(!eval::<bool>(&format!(
                r#"cidr_contains("0.0.0.0/0", {bad})"#
            )));
            assert!(!eval::<bool>(&format!(
                r#"cidr_contains({bad}, "10.0.0.1")"#
            )));
            assert!(!eval::<bool>(&format!(
                r#"cidr_overlaps({bad}, "10.0.0.1")"#
            )));
            assert!(eval::<bool>(&format!("cidr({bad}) == ()")), "cidr({bad})");
            assert!(eval::<bool>(&format!("ip({bad}) == ()")), "ip({bad})");
        }
        assert!(eval::<bool>(
            r#"is_cidr("10.0.0.0/8") && !is_cidr("10.0.0.1")"#
        ));
        assert!(eval::<bool>(r#"is_ip("10.0.0.1") && !is_ip("10.0.0.0/8")"#));
    }

    #[test]
    fn parsed_values_have_properties_and_compare_as_networks() {
        assert_eq!(
            eval::<String>(
                r#"let n = cidr("10.1.2.3/8"); `${n} ${n.prefix} ${n.version} ${n.address} ${n.network}`"#
            ),
            "10.1.2.3/8 8 4 10.1.2.3 10.0.0.0/8"
        );
        assert_eq!(
            eval::<String>(r#"let a = ip("2001:DB8::1"); `${a} ${a.version}`"#),
            "2001:db8::1 6"
        );
        assert!(eval::<bool>(r#"cidr("10.1.2.3/8") == cidr("10.0.0.0/8")"#));
        assert!(eval::<bool>(r#"cidr("10.0.0.0/8") != cidr("10.0.0.0/9")"#));
        assert!(eval::<bool>(r#"ip("::1") == ip("0:0::1")"#));
        assert!(eval::<bool>(r#"cidr(cidr("::/0")).prefix == 0"#));
        let err = engine()
            .eval::<bool>(r#"cidr("10.0.0.0/8") == "10.0.0.0/8""#)
            .expect_err("a network compared with a string is refused");
        assert!(
            err.to_string()
                .contains("cannot compare a network with a string"),
            "{err}"
        );
    }

    #[test]
    fn protocols_and_ports() {
        let p = |s: &str| Protocol::parse(&Dynamic::from(ImmutableString::from(s)));
        assert_eq!(p("-1"), Some(Protocol::All));
        assert_eq!(p("TCP"), Some(Protocol::Tcp));
        assert_eq!(p("6"), Some(Protocol::Tcp));
        assert_eq!(p("17"), Some(Protocol::Udp));
        assert_eq!(p("1"), Some(Protocol::Icmp));
        assert_eq!(p("58"), Some(Protocol::Icmpv6));
        assert_eq!(p("icmpv6"), Some(Protocol::Icmpv6));
        assert_eq!(p("50"), Some(Protocol::Other(50)));
        assert_eq!(Protocol::parse(&Dynamic::from(-1_i64)), Some(Protocol::All));
        assert_eq!(
            Protocol::parse(&Dynamic::from(132_i64)),
            Some(Protocol::Other(132))
        );
        for bad in ["", "256", "gre", "-2", "1000", "tcp "] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
        assert_eq!(Protocol::parse(&Dynamic::UNIT), None);

        assert!(eval::<bool>(
            "port_in_range(22, 20, 25) && !port_in_range(26, 20, 25)"
        ));
        assert!(eval::<bool>(
            "port_in_range(22, -1, -1) && port_in_range(22, (), ())"
        ));
        assert!(eval::<bool>(
            "port_in_range(0, -1, 10) && port_in_range(65535, 1024, ())"
        ));
        assert!(eval::<bool>(r#"port_in_range("22", "20", 22)"#));
        assert!(!eval::<bool>(
            "port_in_range(70000, -1, -1) || port_in_range(-1, -1, -1)"
        ));
        assert!(!eval::<bool>(
            r#"port_in_range(22, "x", 25) || port_in_range(22, -2, 25)"#
        ));
        assert!(!eval::<bool>(
            "port_in_range((), 0, 65535) || port_in_range(22, 30, 20)"
        ));
    }

    #[test]
    fn permissions_as_maps() {
        let ports = |perm: &str| -> String {
            eval::<Dynamic>(&format!("permission_ports({perm})")).to_string()
        };
        assert_eq!(
            ports(r#"#{IpProtocol: "-1"}"#),
            r#"#{"all_ports": true, "from": 0, "protocol": "all", "text": "all traffic", "to": 65535}"#
        );
        assert_eq!(
            ports(r#"#{IpProtocol: "tcp", FromPort: 22, ToPort: 22}"#),
            r#"#{"all_ports": false, "from": 22, "protocol": "tcp", "text": "tcp/22", "to": 22}"#
        );
        assert_eq!(
            ports(r#"#{IpProtocol: "17"}"#),
            r#"#{"all_ports": true, "from": 0, "protocol": "udp", "text": "udp/0-65535", "to": 65535}"#
        );
        assert_eq!(
            ports(r#"#{IpProtocol: "tcp", FromPort: -1, ToPort: -1}"#),
            r#"#{"all_ports": true, "from": 0, "protocol": "tcp", "text": "tcp/0-65535", "to": 65535}"#
        );
        assert_eq!(
            ports(r#"#{IpProtocol: "icmp", FromPort: -1, ToPort: -1}"#),
            r#"#{"all_ports": true, "from": -1, "protocol": "icmp", "text": "icmp/all", "to": -1}"#
        );
        assert_eq!(
            ports(r#"#{IpProtocol: "icmpv6", FromPort: 128, ToPort: -1}"#),
            r#"#{"all_ports": false, "from": 128, "protocol": "icmpv6", "text": "icmpv6 type 128", "to": -1}"#
        );
        assert_eq!(
            ports(r#"#{IpProtocol: "50"}"#),
            r#"#{"all_ports": true, "from": 0, "protocol": "50", "text": "protocol 50", "to": 65535}"#
        );
        for bad in [
            "#{}",
            r#"#{IpProtocol: "gre"}"#,
            r#"#{IpProtocol: "tcp", FromPort: "x"}"#,
            r#"#{IpProtocol: "tcp", FromPort: -3, ToPort: 22}"#,
            "42",
            "()",
        ] {
            assert_eq!(ports(bad), "", "{bad}");
            assert!(
                !eval::<bool>(&format!("permission_allows({bad}, 22)")),
                "{bad}"
            );
            assert!(!eval::<bool>(&format!(
                r#"permission_allows({bad}, "tcp", 22)"#
            )));
        }

        let allows = |perm: &str, args: &str| -> bool {
            eval::<bool>(&format!("permission_allows({perm}, {args})"))
        };
        let all = r#"#{IpProtocol: "-1"}"#;
        assert!(allows(all, "22") && allows(all, r#""udp", 53"#) && allows(all, r#""icmp", 8"#));
        assert!(allows(all, r#""-1", ()"#) && allows(all, "50, ()"));
        assert!(!allows(all, "70000"), "not a port");
        let ssh = r#"#{IpProtocol: "tcp", FromPort: 22, ToPort: 22}"#;
        assert!(allows(ssh, "22") && allows(ssh, r#""tcp", 22"#) && allows(ssh, r#""6", "22""#));
        assert!(!allows(ssh, "23") && !allows(ssh, r#""udp", 22"#) && !allows(ssh, r#""-1", 22"#));
        let tcp_all = r#"#{IpProtocol: "tcp"}"#;
        assert!(allows(tcp_all, "3389") && allows(tcp_all, "0") && allows(tcp_all, "65535"));
        let dns = r#"#{IpProtocol: "udp", FromPort: 53, ToPort: 53}"#;
        assert!(allows(dns, "53") && allows(dns, r#""udp", 53"#) && !allows(dns, r#""tcp", 53"#));
        let ping = r#"#{IpProtocol: "icmp", FromPort: 8, ToPort: -1}"#;
        assert!(!allows(ping, "8"), "icmp has no ports");
        assert!(allows(ping, r#""icmp", 8"#) && !allows(ping, r#""icmp", 0"#));
        let icmp_all = r#"#{IpProtocol: "1", FromPort: -1, ToPort: -1}"#;
        assert!(allows(icmp_all, r#""icmp", 0"#) && !allows(icmp_all, r#""icmpv6", 0"#));
        let esp = r#"#{IpProtocol: "50"}"#;
        assert!(!allows(esp, "22") && allows(esp, "50, ()") && !allows(esp, "51, ()"));
    }

    #[test]
    fn permission_cidrs_reads_both_families() {
        let perm = r#"#{IpProtocol: "-1",
            IpRanges: [#{CidrIp: "10.0.0.0/8"}, #{Description: "no cidr"}],
            Ipv6Ranges: [#{CidrIpv6: "::/0"}]}"#;
        assert_eq!(
            eval::<Dynamic>(&format!("permission_cidrs({perm})")).to_string(),
            r#"["10.0.0.0/8", "::/0"]"#
        );
        assert_eq!(eval::<Dynamic>("permission_cidrs(42)").to_string(), "[]");
        assert_eq!(
            eval_on::<Dynamic>(
                r#"{"IpPermissions": [{"IpProtocol": "tcp", "IpRanges": [{"CidrIp": "1.2.3.4/32"}]}]}"#,
                "permission_cidrs(doc.IpPermissions[0])"
            )
            .to_string(),
            r#"["1.2.3.4/32"]"#
        );
    }

    #[test]
    fn tags_in_every_shape() {
        let cases = [
            (
                r#"{"Tags": [{"Key": "Environment", "Value": "prod"}, {"Key": "Name", "Value": "x"}]}"#,
                "doc",
            ),
            (
                r#"{"Tags": [{"Key": "Environment", "Value": "prod"}, {"Key": "Name", "Value": "x"}]}"#,
                "doc.Tags",
            ),
            (
                r#"{"R": {"TagList": [{"Key": "Environment", "Value": "prod"}, {"Key": "Name", "Value": "x"}]}}"#,
                "doc.R",
            ),
            (
                r#"{"TagSet": [{"Key": "Environment", "Value": "prod"}, {"Key": "Name", "Value": "x"}]}"#,
                "doc",
            ),
            (
                r#"{"TagsList": [{"Key": "Environment", "Value": "prod"}, {"Key": "Name", "Value": "x"}]}"#,
                "doc",
            ),
            (
                r#"{"tags": [{"key": "Environment", "value": "prod"}, {"key": "Name", "value": "x"}]}"#,
                "doc",
            ),
            (
                r#"{"Tags": [{"TagKey": "Environment", "TagValue": "prod"}, {"TagKey": "Name", "TagValue": "x"}]}"#,
                "doc",
            ),
            (r#"{"Tags": {"Environment": "prod", "Name": "x"}}"#, "doc"),
            (
                r#"{"c": {"tags": {"Environment": "prod", "Name": "x"}}}"#,
                "doc.c",
            ),
            (
                r#"{"Tags": {"Items": [{"Key": "Environment", "Value": "prod"}, {"Key": "Name", "Value": "x"}]}}"#,
                "doc",
            ),
        ];
        for (json, x) in cases {
            let got = eval_on::<Dynamic>(json, &format!("tags({x})")).to_string();
            assert_eq!(
                got, r#"#{"Environment": "prod", "Name": "x"}"#,
                "{json} {x}"
            );
            let got = eval_on::<String>(
                json,
                &format!(
                    r#"`${{tag({x}, "environment")}} ${{tag_value({x}, "environment", false)}} ${{tag_value({x}, "Environment", false)}} ${{has_tag({x}, "NAME")}} ${{has_tag({x}, "nope")}}`"#
                ),
            );
            assert_eq!(got, "prod  prod true false", "{json} {x}");
        }
        // plain Rhai values work the same
        assert_eq!(
            eval::<String>(r#"tag(#{TagList: [#{Key: "Env", Value: "dev"}]}, "ENV")"#),
            "dev"
        );
        assert_eq!(
            eval::<String>(r#"tag([#{Key: "Env", Value: "dev"}], "env")"#),
            "dev"
        );
    }

    #[test]
    fn tag_lookups_prefer_the_exact_key_and_skip_odd_items() {
        let json = r#"{"TagSet": [{"Key": "ENV", "Value": "a"}, {"Key": "env", "Value": "b"},
                       {"Value": "keyless"}, {"Key": 7, "Value": "numeric key"}, "text",
                       {"Key": "empty"}]}"#;
        assert_eq!(eval_on::<String>(json, r#"tag(doc, "env")"#), "b");
        assert_eq!(eval_on::<String>(json, r#"tag(doc, "ENV")"#), "a");
        assert_eq!(
            eval_on::<String>(json, r#"tag(doc, "Env")"#),
            "a",
            "first in order"
        );
        assert!(eval_on::<bool>(
            json,
            r#"tag_value(doc, "Env", false) == ()"#
        ));
        assert!(eval_on::<bool>(
            json,
            r#"has_tag(doc, "EMPTY") && tag(doc, "empty") == ()"#
        ));
        assert_eq!(eval_on::<i64>(json, "tags(doc).len()"), 3);
        // no tags, or not a resource
        for x in ["doc.Other", "42", "()", r#""text""#, "#{}", "[]"] {
            assert_eq!(
                eval_on::<i64>(r#"{"Other": {"Name": "x"}}"#, &format!("tags({x}).len()")),
                0,
                "{x}"
            );
        }
        // a map-shaped member holding objects is not tags
        assert_eq!(
            eval_on::<i64>(r#"{"Tags": {"a": {"b": 1}, "c": "d"}}"#, "tags(doc).len()"),
            1
        );
    }

    #[test]
    fn tags_of_a_missing_document_end_the_rule_like_any_read() {
        let file = crate::snapshot::load::placeholder("t/doc.json", DocStatus::NotCollected);
        let mut scope = Scope::new();
        scope.push("doc", Doc(Arc::new(file)));
        let err = engine()
            .eval_with_scope::<Dynamic>(&mut scope, "tags(doc)")
            .expect_err("not collected");
        assert!(
            matches!(*err, EvalAltResult::ErrorTerminated(..)),
            "a skip, which try/catch cannot catch: {err}"
        );
    }

    #[test]
    fn policy_documents_parse_from_text_or_stay_nodes() {
        let json = r#"{"Policy": "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\"}}", "Doc": {"Statement": [{"Effect": "Deny"}, {"Effect": "Allow"}]}}"#;
        // a text: parsed, one statement object read as a list of one
        let first: String = eval_on(
            json,
            "policy_statements(policy_document(doc.Policy))[0].Effect",
        );
        assert_eq!(first, "Allow");
        let n: i64 = eval_on(json, "policy_statements(policy_document(doc.Policy)).len()");
        assert_eq!(n, 1);
        // a node: kept, with its place
        let p: String = eval_on(
            json,
            "policy_statements(policy_document(doc.Doc))[1].pointer()",
        );
        assert_eq!(p, "/Doc/Statement/1");
        // not a JSON object: ()
        for x in [
            "policy_document(\"{bad\")",
            "policy_document(\"[1]\")",
            "policy_document(())",
            "policy_document(3)",
        ] {
            assert!(eval::<Dynamic>(x).is_unit(), "{x}");
        }
        assert_eq!(eval::<Array>("policy_statements(#{})").len(), 0);
        assert_eq!(eval::<Array>("policy_statements(())").len(), 0);
    }

    #[test]
    fn one_or_many_values_and_public_principals() {
        assert_eq!(eval::<Array>(r#"policy_values("s3:*")"#).len(), 1);
        assert_eq!(eval::<Array>(r#"policy_values(["a", "b"])"#).len(), 2);
        assert_eq!(eval::<Array>("policy_values(())").len(), 0);
        for (p, public) in [
            (r#""*""#, true),
            (r#"#{ AWS: "*" }"#, true),
            (r#"#{ AWS: ["arn:aws:iam::111122223333:root", "*"] }"#, true),
            (r#"#{ AWS: "arn:aws:iam::111122223333:root" }"#, false),
            (r#"#{ Service: "sns.amazonaws.com" }"#, false),
            (r#""arn:aws:iam::111122223333:root""#, false),
            ("()", false),
        ] {
            assert_eq!(
                eval::<bool>(&format!("principal_is_public({p})")),
                public,
                "{p}"
            );
        }
    }

    #[test]
    fn path_segments_are_the_catalogue_s() {
        let s: String =
            eval(r#"path_segment("https://sqs.us-east-1.amazonaws.com/111122223333/q1")"#);
        assert_eq!(s, "https:__sqs.us-east-1.amazonaws.com_111122223333_q1");
    }
}
