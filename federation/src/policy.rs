//! Who a Hearth server talks to: the domain policy (`deny_domains` / `allow_domains`
//! patterns over server names) and the address policy ([`is_public_ip`]: which IP addresses
//! outbound connections may reach unless private addresses are allowed). Shared by the
//! homeserver's federation, the registrar and discovery.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------------------------------
// Domain policy

/// Server-name deny and allow lists (the homeserver's `federation.deny_domains` /
/// `allow_domains`, the registrar's `deny_domains` and operator deny list), plus the servers
/// an operator blocked at run time ([`DomainPolicy::set_blocked`], shared by every clone).
/// Patterns: `example.org` matches that name (with or without a port), `*.example.org` every
/// subdomain.
#[derive(Debug, Clone, Default)]
pub struct DomainPolicy {
    deny: Vec<String>,
    allow: Vec<String>,
    blocked: std::sync::Arc<std::sync::RwLock<Vec<String>>>,
}

fn pattern_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
        None => pattern == host,
    }
}

impl DomainPolicy {
    /// From the configured lists (trimmed, lower-cased).
    pub fn new(deny: &[String], allow: &[String]) -> Self {
        let norm = |v: &[String]| v.iter().map(|d| d.trim().to_ascii_lowercase()).collect();
        DomainPolicy {
            deny: norm(deny),
            allow: norm(allow),
            blocked: Default::default(),
        }
    }

    /// Replaces the run-time block list (patterns as for the deny list) in this policy and
    /// every clone of it.
    pub fn set_blocked(&self, patterns: Vec<String>) {
        let patterns = patterns
            .into_iter()
            .map(|d| d.trim().to_ascii_lowercase())
            .collect();
        *self.blocked.write().unwrap_or_else(|e| e.into_inner()) = patterns;
    }

    /// Whether `server_name` may federate with us: not denied, and allowed when an allow list
    /// is set. Patterns match the name with or without its port: `example.org` matches
    /// `example.org` and `example.org:8448`; `*.example.org` matches every subdomain.
    pub fn allows(&self, server_name: &str) -> bool {
        let name = server_name.to_ascii_lowercase();
        let host = name.rsplit_once(':').map_or(name.as_str(), |(h, _)| h);
        let hit = |p: &String| pattern_matches(p, &name) || pattern_matches(p, host);
        if self.deny.iter().any(hit)
            || self
                .blocked
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(hit)
        {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(hit)
    }
}

// ---------------------------------------------------------------------------------------
// Address policy

/// Whether `ip` is a globally routable unicast address. `false` for unspecified, loopback,
/// private (RFC 1918), CGNAT (100.64/10), link-local, multicast, broadcast, documentation,
/// benchmarking and reserved IPv4 ranges; for IPv6 unspecified, loopback, ULA (fc00::/7),
/// link-local (fe80::/10), site-local, multicast, documentation and discard ranges; and
/// IPv4-mapped/-compatible, NAT64 and 6to4 addresses are judged by the IPv4 address inside.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let private = a == 0                                   // "this network", unspecified
        || a == 10                                         // RFC 1918
        || (a == 100 && (64..=127).contains(&b))           // CGNAT 100.64/10
        || a == 127                                        // loopback
        || (a == 169 && b == 254)                          // link-local
        || (a == 172 && (16..=31).contains(&b))            // RFC 1918
        || (a == 192 && b == 0 && c == 0)                  // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)                  // TEST-NET-1
        || (a == 192 && b == 88 && c == 99)                // 6to4 relay anycast
        || (a == 192 && b == 168)                          // RFC 1918
        || (a == 198 && (b == 18 || b == 19))              // benchmarking
        || (a == 198 && b == 51 && c == 100)               // TEST-NET-2
        || (a == 203 && b == 0 && c == 113)                // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !private
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if ip.is_unspecified() || ip.is_loopback() {
        return false;
    }
    // IPv4-mapped ::ffff:a.b.c.d and deprecated IPv4-compatible ::a.b.c.d
    if s[0..5] == [0, 0, 0, 0, 0] && (s[5] == 0xffff || s[5] == 0) {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    // NAT64 64:ff9b::/96
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    // 6to4 2002::/16 embeds an IPv4 address
    if s[0] == 0x2002 {
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    let private = (s[0] & 0xfe00) == 0xfc00              // ULA fc00::/7
        || (s[0] & 0xffc0) == 0xfe80                     // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0                     // site-local fec0::/10
        || (s[0] & 0xff00) == 0xff00                     // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8)            // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])      // discard 100::/64
        || (s[0] == 0x2001 && s[1] < 0x0200)             // IETF protocol assignments (Teredo, ...)
        || s[0] == 0; // other reserved ::/16 forms
    !private
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_policy() {
        let p = DomainPolicy::new(&["bad.example".into(), "*.evil.example".into()], &[]);
        assert!(p.allows("good.example"));
        assert!(!p.allows("bad.example"));
        assert!(!p.allows("bad.example:8448"));
        assert!(!p.allows("x.evil.example"));
        assert!(p.allows("evil.example"));
        assert!(p.allows("notevil.example"));
        let a = DomainPolicy::new(&[], &["friend.example".into(), "*.club.example".into()]);
        assert!(a.allows("friend.example"));
        assert!(a.allows("a.club.example"));
        assert!(!a.allows("stranger.example"));
        assert!(!a.allows("club.example"));
    }

    #[test]
    fn a_block_reaches_every_clone_and_lifts() {
        let p = DomainPolicy::new(&[], &[]);
        let clone = p.clone();
        p.set_blocked(vec!["Spam.Example".into()]);
        assert!(!clone.allows("spam.example"));
        assert!(!clone.allows("spam.example:8448"));
        assert!(clone.allows("ham.example"));
        p.set_blocked(vec![]);
        assert!(clone.allows("spam.example"));
    }

    fn public(s: &str) -> bool {
        is_public_ip(s.parse().unwrap())
    }

    #[test]
    fn private_ipv4_ranges_are_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.0.0.2",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!public(ip), "{ip} must not be public");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.169.0.1",
            "193.0.0.1",
            "223.255.255.254",
        ] {
            assert!(public(ip), "{ip} is public");
        }
    }

    #[test]
    fn private_ipv6_ranges_are_refused() {
        for ip in [
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:192.168.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "100::1",
            "2001::1",
        ] {
            assert!(!public(ip), "{ip} must not be public");
        }
        for ip in [
            "2606:4700:4700::1111",
            "2a00:1450:4001:81b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(public(ip), "{ip} is public");
        }
    }
}
