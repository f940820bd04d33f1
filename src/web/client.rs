//! The client's address: the peer of the connection, or — behind a
//! reverse proxy the operator named as trusted — the address that proxy
//! saw (the last `X-Forwarded-For` entry no trusted proxy added). An
//! untrusted peer's `X-Forwarded-For` is ignored: anyone can write one.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The address a request came from, for the guessing budgets.
pub fn address(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let mut address = peer.ip();
    if !trusted.contains(&address) {
        return address;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    for hop in forwarded.into_iter().rev() {
        address = hop;
        if !trusted.contains(&hop) {
            break;
        }
    }
    address
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let peer = SocketAddr::new(proxy, 4000);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 198.51.100.7, 10.0.0.2"),
        );
        // The proxy is trusted: the client is the last address it did not add.
        assert_eq!(
            address(peer, &headers, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Not trusted: its header is anyone's word.
        assert_eq!(address(peer, &headers, &[]), proxy);
        // Trusted but no header: the proxy itself.
        assert_eq!(address(peer, &HeaderMap::new(), &[proxy]), proxy);
    }
}
