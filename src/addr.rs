//! Strict, allocation-free parsing of IP address text, for the hot path.
//!
//! Accepted: dotted-quad IPv4 with decimal octets 0-255 and no leading
//! zeros (`1.2.3.4`), and IPv6 in any RFC 4291 text form, including an
//! embedded IPv4 suffix (`::ffff:1.2.3.4`). Refused: everything else, such as
//! leading zeros (`01.2.3.4`, ambiguous with octal), surrounding spaces,
//! zone identifiers (`fe80::1%eth0`), prefixes (`1.2.3.0/24`) and any text
//! longer than 45 bytes (the longest address, `INET6_ADDRSTRLEN - 1`).

use std::net::{IpAddr, Ipv6Addr};

/// The longest address text accepted.
pub const MAX_LEN: usize = 45;

/// A parsed address: IPv4 as `u32`, IPv6 as `u128`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addr {
    /// An IPv4 address.
    V4(u32),
    /// An IPv6 address.
    V6(u128),
}

impl From<Addr> for IpAddr {
    fn from(a: Addr) -> IpAddr {
        match a {
            Addr::V4(v) => IpAddr::V4(v.into()),
            Addr::V6(v) => IpAddr::V6(v.into()),
        }
    }
}

/// Parses address text. `None` if it is not an address as described in the
/// module documentation.
///
/// ```
/// use ipgeo::addr::{parse, Addr};
/// assert_eq!(parse(b"1.2.3.4"), Some(Addr::V4(0x0102_0304)));
/// assert_eq!(parse(b"::ffff:1.2.3.4"), Some(Addr::V6(0xffff_0102_0304)));
/// assert_eq!(parse(b"01.2.3.4"), None);
/// assert_eq!(parse(b"fe80::1%eth0"), None);
/// ```
#[inline]
pub fn parse(text: &[u8]) -> Option<Addr> {
    if text.is_empty() || text.len() > MAX_LEN {
        return None;
    }
    if let Some(v4) = parse_v4(text) {
        return Some(Addr::V4(v4));
    }
    if !text.contains(&b':') {
        return None;
    }
    let s = std::str::from_utf8(text).ok()?;
    s.parse::<Ipv6Addr>().ok().map(|a| Addr::V6(u128::from(a)))
}

/// Parses a dotted quad.
#[inline]
fn parse_v4(text: &[u8]) -> Option<u32> {
    if text.len() < 7 || text.len() > 15 {
        return None;
    }
    let mut out: u32 = 0;
    let mut octets = 0;
    let mut i = 0;
    while i < text.len() {
        let start = i;
        let mut v: u32 = 0;
        while i < text.len() && text[i].is_ascii_digit() {
            v = v * 10 + u32::from(text[i] - b'0');
            i += 1;
            if i - start > 3 {
                return None;
            }
        }
        let digits = i - start;
        if digits == 0 || v > 255 || (digits > 1 && text[start] == b'0') {
            return None;
        }
        out = (out << 8) | v;
        octets += 1;
        if i < text.len() {
            if text[i] != b'.' || octets == 4 {
                return None;
            }
            i += 1;
            if i == text.len() {
                return None;
            }
        }
    }
    (octets == 4).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_std_on_valid_text() {
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "1.2.3.4",
            "10.0.0.1",
            "::",
            "::1",
            "2001:db8::1",
            "::ffff:1.2.3.4",
            "64:ff9b::192.0.2.33",
            "2001:0db8:0000:0000:0000:ff00:0042:8329",
            "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
        ] {
            let std: IpAddr = s.parse().unwrap();
            assert_eq!(parse(s.as_bytes()).map(IpAddr::from), Some(std), "{s}");
        }
    }

    #[test]
    fn refuses_odd_spellings() {
        for s in [
            "",
            " 1.2.3.4",
            "1.2.3.4 ",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.",
            ".1.2.3",
            "1..2.3",
            "01.2.3.4",
            "1.2.3.04",
            "256.1.1.1",
            "1.2.3.1000",
            "0x1.2.3.4",
            "1.2.3.4/24",
            "fe80::1%eth0",
            "::ffff:01.2.3.4",
            "1:2:3:4:5:6:7:8:9",
            "12345::",
            "localhost",
            "1.2.3.-4",
            "+1.2.3.4",
            "１.２.３.４",
        ] {
            assert_eq!(parse(s.as_bytes()), None, "{s:?}");
            // std agrees that these are not addresses (it allows none of them).
            assert!(s.parse::<IpAddr>().is_err(), "{s:?}");
        }
        assert_eq!(parse(&[b'1'; 46]), None);
        assert_eq!(parse(&[0xff, 0xfe, b':', b':']), None);
    }

    #[test]
    fn exhaustive_first_octets() {
        for a in 0..=300u32 {
            let s = format!("{a}.0.0.1");
            assert_eq!(
                parse(s.as_bytes()).map(IpAddr::from),
                s.parse::<IpAddr>().ok(),
                "{s}"
            );
        }
    }
}
