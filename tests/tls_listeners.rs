//! Proves that the gateway, the tracking server and the admin interface
//! serve TLS with a configured certificate: a client that trusts the test
//! CA connects (and still needs its token), a plaintext client on the same
//! port is refused, and a client that trusts another CA is refused.

mod support;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use support::server::Server;
use support::test_tls::{agent_trusting, test_certificates, ws_connector_trusting};
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// A plaintext request to a TLS port gets no HTTP answer: the handshake
/// fails and the connection is closed.
fn assert_plaintext_refused(url_https: &str) {
    let plain = url_https.replacen("https://", "http://", 1);
    let answer = agent_trusting(&None).get(&plain).call();
    assert!(
        answer.is_err(),
        "a plaintext request to {plain} was answered: {:?}",
        answer.map(|response| response.status())
    );
}

/// A client that trusts only another CA fails the handshake, naming the
/// certificate.
fn assert_other_ca_refused(url_https: &str) {
    let other = Some(test_certificates().other_ca_file());
    let error = agent_trusting(&other)
        .get(url_https)
        .call()
        .expect_err("a client trusting another CA connected");
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "the refusal names the certificate: {error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_serves_wss_to_drivers_with_tokens_and_refuses_plaintext() {
    let topic = unique("tls-gateway");
    create_topic(&topic, 1).await;
    let gateway = Server::start_tls(
        "gateway",
        &[
            "gateway",
            "--bootstrap-servers",
            &bootstrap(),
            "--topic",
            &topic,
            "--partitions",
            "1",
            "--token-key",
            &token_key_arg(),
        ],
    );
    assert!(gateway.log().contains("wss://"), "the gateway says it serves wss://");
    let ca = test_certificates().ca_file();

    // A driver with a token, over wss://: its fix reaches Kafka as sent.
    let url = gateway.ws(&format!("/ws/driver?ack=true&access_token={}", driver_token("drv-tls")));
    let (mut socket, _) =
        tokio_tungstenite::connect_async_tls_with_config(url.as_str(), None, false, Some(ws_connector_trusting(&ca)))
            .await
            .expect("wss:// with the test CA and a token connects");
    let fix = r#"{"driverId":"drv-tls","lat":12.97,"lng":77.59,"timestamp":1700000000000}"#;
    socket.send(Message::text(fix)).await.expect("send");
    let ack = tokio::time::timeout(Duration::from_secs(30), socket.next())
        .await
        .expect("an ack within 30 s")
        .expect("a frame")
        .expect("a frame");
    assert_eq!(ack.to_text().expect("text"), r#"{"ack":1}"#);
    socket.close(None).await.expect("close");
    let records = read_all(&topic, 1, Duration::from_secs(2));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].payload.as_deref(), Some(fix), "produced as sent over TLS");

    // TLS does not replace the token: without one the upgrade is refused.
    let refused = tokio_tungstenite::connect_async_tls_with_config(
        gateway.ws("/ws/driver").as_str(),
        None,
        false,
        Some(ws_connector_trusting(&ca)),
    )
    .await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a driver without a token over wss:// must get 401, got {other:?}"),
    }
    // The simulator drives a fleet over wss://, trusting the test CA.
    let ca_path = ca.to_str().expect("path");
    let (ok, simulated) = fleethost(&[
        "simulate",
        "--bootstrap-servers",
        &bootstrap(),
        "--gateway",
        &gateway.ws("/ws/driver"),
        "--gateway-ca-file",
        ca_path,
        "--driver-token-key",
        &token_key_arg(),
        "--no-orders",
        "--drivers",
        "5",
        "--rate",
        "200",
        "--count",
        "100",
    ]);
    assert!(ok, "simulate over wss:// failed: {simulated}");
    assert!(
        simulated.contains("fixes_sent=100 fixes_acknowledged=100"),
        "every fix acknowledged over wss://: {simulated}"
    );
    assert_eq!(read_all(&topic, 101, Duration::from_secs(2)).len(), 101);

    // Plaintext ws:// to the same port, and a client trusting another CA: refused.
    let plain = gateway.ws("/ws/driver").replacen("wss://", "ws://", 1);
    assert!(
        tokio_tungstenite::connect_async(plain.as_str()).await.is_err(),
        "plaintext ws:// to a TLS gateway connected"
    );
    assert_plaintext_refused(&gateway.http("/health"));
    assert_other_ca_refused(&gateway.http("/health"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracking_server_serves_https_with_tokens_and_refuses_plaintext() {
    let prefix = format!("{}:", unique("tls-track"));
    let tracking = Server::start_tls(
        "tracking server",
        &[
            "track",
            "--redis-url",
            &redis_url(),
            "--key-prefix",
            &prefix,
            "--token-key",
            &token_key_arg(),
        ],
    );
    // Sockets that connect and never start a handshake hold up no one:
    // each handshake runs on its own, under its own deadline.
    let _silent: Vec<std::net::TcpStream> = (0..3)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", tracking.port)).expect("connect"))
        .collect();
    let agent = agent_trusting(&Some(test_certificates().ca_file()));
    let map = tracking.http("/api/map");
    assert!(map.starts_with("https://"));
    let status = |token: Option<String>| {
        let mut request = agent.get(&map);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        request.call().expect("an HTTPS answer").status().as_u16()
    };
    assert_eq!(
        status(None),
        401,
        "the live map still needs an operator token over TLS, answered beside silent sockets"
    );
    assert_eq!(status(Some(operator_token())), 200, "an operator's token opens it");
    assert_plaintext_refused(&map);
    assert_other_ca_refused(&map);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_interface_serves_https_to_the_command_line() {
    let (topic, group, prefix) = (
        unique("tls-admin"),
        unique("tls-admin-group"),
        format!("{}:", unique("tls-admin")),
    );
    create_topic(&topic, 1).await;
    let mut config = one_pipeline_config("tls-admin", &topic, &group, &prefix, &["live_location"], &redis_url());
    let port = free_port();
    enable_admin(&mut config, port);
    config.admin.tls = Some(test_certificates().server_files());
    let config = write_config_file("tls-admin", &config);
    let mut host = Host::start("tls-admin", &config);
    let admin = format!("https://127.0.0.1:{port}");
    let ca = test_certificates().ca_file();
    let ca = ca.to_str().expect("path");
    wait_until(
        "the admin interface answers over HTTPS",
        Duration::from_secs(60),
        || fleethost(&["status", "--admin", &admin, "--ca-file", ca]).0,
    );
    let status = fleethost_command(&["status", "--admin", &admin, "--ca-file", ca]);
    assert!(status.contains("live_location"), "status lists the plugin: {status}");
    assert!(
        host.log()
            .contains(&format!("admin interface listening on https://127.0.0.1:{port}")),
        "the host says it serves https"
    );

    let other = test_certificates().other_ca_file();
    let (ok, refused) = fleethost(&["status", "--admin", &admin, "--ca-file", other.to_str().expect("path")]);
    assert!(!ok, "status trusting another CA succeeded: {refused}");
    assert!(
        refused.to_lowercase().contains("certificate"),
        "the error names the certificate: {refused}"
    );
    let (ok, plain) = fleethost(&["status", "--admin", &format!("127.0.0.1:{port}")]);
    assert!(
        !ok,
        "plaintext status against an HTTPS admin interface succeeded: {plain}"
    );
    assert_plaintext_refused(&format!("{admin}/health"));
    let status = host.terminate(Duration::from_secs(30));
    assert!(status.success(), "clean shutdown exits 0, got {status}");
}
