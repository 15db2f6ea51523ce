//! A STUN (RFC 5389) binding request for `plenum doctor`: encoding the request and
//! decoding the answer's (XOR-)MAPPED-ADDRESS are pure; [`binding`] sends it over UDP.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const MAGIC_COOKIE: u32 = 0x2112_A442;
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const ATTR_MAPPED_ADDRESS: u16 = 0x0001;
const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;

/// `stun:host[:port]` → host and port (3478 by default); `None` for `stuns:` and other
/// schemes, which the doctor does not probe.
pub fn parse_stun_url(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("stun:")?;
    let rest = rest.split('?').next()?;
    if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None => 3478,
        };
        return Some((host.to_owned(), port));
    }
    match rest.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None => Some((rest.to_owned(), 3478)),
    }
}

/// A binding request with the given transaction id.
pub fn request(transaction: [u8; 12]) -> [u8; 20] {
    let mut out = [0u8; 20];
    out[..2].copy_from_slice(&BINDING_REQUEST.to_be_bytes());
    // length 0: no attributes
    out[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    out[8..].copy_from_slice(&transaction);
    out
}

/// The mapped address from a binding success answer to `transaction`.
pub fn mapped_address(answer: &[u8], transaction: [u8; 12]) -> Result<SocketAddr, String> {
    if answer.len() < 20 {
        return Err("the STUN answer is too short".to_owned());
    }
    let kind = u16::from_be_bytes([answer[0], answer[1]]);
    if answer[8..20] != transaction {
        return Err("the STUN answer is for another request".to_owned());
    }
    if kind != BINDING_SUCCESS {
        return Err(format!(
            "the STUN server answered message type {kind:#06x}, not a binding success"
        ));
    }
    let length = usize::from(u16::from_be_bytes([answer[2], answer[3]]));
    let body = answer
        .get(20..20 + length)
        .ok_or("the STUN answer is shorter than its length says")?;
    let mut plain = None;
    let mut at = 0;
    while at + 4 <= body.len() {
        let attr = u16::from_be_bytes([body[at], body[at + 1]]);
        let len = usize::from(u16::from_be_bytes([body[at + 2], body[at + 3]]));
        let value = body
            .get(at + 4..at + 4 + len)
            .ok_or("a STUN attribute runs past the end")?;
        match attr {
            ATTR_XOR_MAPPED_ADDRESS => return address(value, Some(transaction)),
            ATTR_MAPPED_ADDRESS => plain = Some(address(value, None)),
            _ => {}
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    plain.unwrap_or_else(|| Err("the STUN answer has no mapped address".to_owned()))
}

/// Decodes a (XOR-)MAPPED-ADDRESS value; `xor` holds the transaction id when XORed.
fn address(value: &[u8], xor: Option<[u8; 12]>) -> Result<SocketAddr, String> {
    let bad = || "a malformed mapped address".to_owned();
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let family = *value.get(1).ok_or_else(bad)?;
    let mut port = u16::from_be_bytes([
        *value.get(2).ok_or_else(bad)?,
        *value.get(3).ok_or_else(bad)?,
    ]);
    if xor.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    let ip = match family {
        1 => {
            let mut octets: [u8; 4] = value
                .get(4..8)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?;
            if xor.is_some() {
                for (o, c) in octets.iter_mut().zip(cookie) {
                    *o ^= c;
                }
            }
            IpAddr::V4(Ipv4Addr::from(octets))
        }
        2 => {
            let mut octets: [u8; 16] = value
                .get(4..20)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?;
            if let Some(transaction) = xor {
                let key: Vec<u8> = cookie.iter().chain(transaction.iter()).copied().collect();
                for (o, k) in octets.iter_mut().zip(key) {
                    *o ^= k;
                }
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => return Err(bad()),
    };
    Ok(SocketAddr::new(ip, port))
}

/// Sends a binding request to `host:port` over UDP and returns the address the server
/// saw. The caller bounds it with a timeout.
pub async fn binding(host: &str, port: u16) -> Result<SocketAddr, String> {
    let server = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;
    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = tokio::net::UdpSocket::bind(bind)
        .await
        .map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    let transaction: [u8; 12] = rand::random();
    let mut buf = [0u8; 1500];
    // UDP may drop a datagram: ask up to three times, 500 ms apart.
    for _ in 0..3 {
        socket
            .send_to(&request(transaction), server)
            .await
            .map_err(|e| format!("cannot send to {server}: {e}"))?;
        if let Ok(Ok((n, from))) = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            socket.recv_from(&mut buf),
        )
        .await
            && from == server
        {
            return mapped_address(&buf[..n], transaction);
        }
    }
    Err(format!("{server} did not answer a STUN binding request"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stun_urls_are_parsed_with_the_default_port() {
        assert_eq!(
            parse_stun_url("stun:stun.example.com"),
            Some(("stun.example.com".into(), 3478))
        );
        assert_eq!(
            parse_stun_url("stun:192.0.2.1:19302"),
            Some(("192.0.2.1".into(), 19302))
        );
        assert_eq!(
            parse_stun_url("stun:[2001:db8::1]:5349"),
            Some(("2001:db8::1".into(), 5349))
        );
        assert_eq!(parse_stun_url("stuns:stun.example.com"), None);
        assert_eq!(parse_stun_url("turn:turn.example.com"), None);
    }

    #[test]
    fn a_binding_answer_gives_the_xor_mapped_address() {
        // RFC 5769 2.2: a sample IPv4 response, 192.0.2.1:32853, XOR-MAPPED-ADDRESS
        let transaction = [
            0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
        ];
        let mut answer = vec![0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42];
        answer.extend_from_slice(&transaction);
        answer.extend_from_slice(&[
            0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
        ]);
        assert_eq!(
            mapped_address(&answer, transaction),
            Ok("192.0.2.1:32853".parse().expect("addr"))
        );
        let mut other = transaction;
        other[0] ^= 1;
        assert!(mapped_address(&answer, other).is_err());
        assert!(mapped_address(&answer[..10], transaction).is_err());
    }

    #[test]
    fn the_request_is_a_bare_binding_request() {
        let r = request([7; 12]);
        assert_eq!(&r[..8], &[0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42]);
        assert_eq!(&r[8..], &[7; 12]);
    }
}
