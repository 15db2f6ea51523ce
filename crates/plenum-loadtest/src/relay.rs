//! A UDP relay between one participant and the node, which a test can cut and restore:
//! the network path of a client whose connection drops (ICE loses its pair) or who
//! vanishes. The participant's offer carries no candidates and the node's answer is
//! rewritten to point at the relay, so every packet both ways goes through it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// A running relay; dropping it stops it.
#[derive(Debug)]
pub struct Relay {
    /// Where the participant sends (the relay's own address).
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Relay {
    /// Starts relaying between the node at `node` and whoever else sends to it.
    pub async fn start(node: SocketAddr) -> std::io::Result<Relay> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let addr = socket.local_addr()?;
        let open = Arc::new(AtomicBool::new(true));
        let task = tokio::spawn({
            let open = open.clone();
            async move {
                let mut client: Option<SocketAddr> = None;
                let mut buf = vec![0u8; 2048];
                while let Ok((len, from)) = socket.recv_from(&mut buf).await {
                    let to = if from == node {
                        match client {
                            Some(client) => client,
                            None => continue,
                        }
                    } else {
                        client = Some(from);
                        node
                    };
                    if open.load(Relaxed) {
                        let _ = socket.send_to(&buf[..len], to).await;
                    }
                }
            }
        });
        Ok(Relay { addr, open, task })
    }

    /// Drops every packet both ways from now on.
    pub fn cut(&self) {
        self.open.store(false, Relaxed);
    }

    /// Forwards again.
    pub fn restore(&self) {
        self.open.store(true, Relaxed);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The node's first loopback host candidate in an answer (`127.0.0.1 <port> typ host`).
pub fn node_candidate(answer: &str) -> Option<SocketAddr> {
    answer.lines().find_map(|line| {
        let rest = line.trim_end().strip_prefix("a=candidate:")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // foundation component transport priority address port typ host
        if fields.len() >= 8 && fields[6] == "typ" && fields[7] == "host" {
            format!("{}:{}", fields[4], fields[5]).parse().ok()
        } else {
            None
        }
    })
}

/// `answer` with the node's candidate `node` replaced by the relay's address.
pub fn through(answer: &str, node: SocketAddr, relay: SocketAddr) -> String {
    answer.replace(
        &format!(" {} {} typ host", node.ip(), node.port()),
        &format!(" {} {} typ host", relay.ip(), relay.port()),
    )
}

/// `offer` without its candidates: the node learns the participant's address from the
/// checks arriving through the relay.
pub fn without_candidates(offer: &str) -> String {
    offer
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("a=candidate:"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
        a=candidate:1 1 udp 2130706431 127.0.0.1 40123 typ host\r\na=end-of-candidates\r\n";

    #[test]
    fn the_answer_points_at_the_relay_and_the_offer_has_no_candidates() {
        let node = node_candidate(ANSWER).expect("candidate");
        assert_eq!(node, "127.0.0.1:40123".parse::<SocketAddr>().expect("addr"));
        let relayed = through(ANSWER, node, "127.0.0.1:5000".parse().expect("addr"));
        assert!(relayed.contains("127.0.0.1 5000 typ host"), "{relayed}");
        assert!(!without_candidates(ANSWER).contains("a=candidate"));
    }

    #[tokio::test]
    async fn packets_flow_until_cut_and_again_when_restored() {
        let node = UdpSocket::bind("127.0.0.1:0").await.expect("node");
        let client = UdpSocket::bind("127.0.0.1:0").await.expect("client");
        let relay = Relay::start(node.local_addr().expect("addr"))
            .await
            .expect("relay");
        let mut buf = [0u8; 16];
        let wait = std::time::Duration::from_secs(5);

        client.send_to(b"hello", relay.addr).await.expect("send");
        let (n, from) = tokio::time::timeout(wait, node.recv_from(&mut buf))
            .await
            .expect("in time")
            .expect("recv");
        assert_eq!((&buf[..n], from), (&b"hello"[..], relay.addr));
        node.send_to(b"back", relay.addr).await.expect("send");
        let (n, _) = tokio::time::timeout(wait, client.recv_from(&mut buf))
            .await
            .expect("in time")
            .expect("recv");
        assert_eq!(&buf[..n], b"back");

        relay.cut();
        client.send_to(b"lost", relay.addr).await.expect("send");
        assert!(
            tokio::time::timeout(
                std::time::Duration::from_millis(200),
                node.recv_from(&mut buf)
            )
            .await
            .is_err(),
            "nothing passes a cut relay"
        );
        relay.restore();
        client.send_to(b"again", relay.addr).await.expect("send");
        let (n, _) = tokio::time::timeout(wait, node.recv_from(&mut buf))
            .await
            .expect("in time")
            .expect("recv");
        assert_eq!(&buf[..n], b"again");
    }
}
