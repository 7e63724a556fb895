//! Talking to a running host the way an operator does: the `fleethost`
//! command line and the admin interface's HTTP endpoints.

/// Runs `fleethost ARGS` to completion, with the tests' admin token in
/// FLEETHOST_ADMIN_TOKEN; whether it succeeded, and its stdout followed by
/// its stderr.
pub fn fleethost(args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(super::fleethost_binary())
        .args(args)
        .env("FLEETHOST_ADMIN_TOKEN", super::access::ADMIN_TOKEN)
        .output()
        .expect("run fleethost");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The output of `fleethost ARGS`, which must succeed.
pub fn fleethost_command(args: &[&str]) -> String {
    let (ok, text) = fleethost(args);
    assert!(ok, "fleethost {args:?} failed: {text}");
    text
}

/// The body of `GET http://{admin}{path}`, with the tests' admin token.
pub fn admin_get(admin: &str, path: &str) -> String {
    let mut response = ureq::get(&format!("http://{admin}{path}"))
        .header("Authorization", format!("Bearer {}", super::access::ADMIN_TOKEN))
        .call()
        .unwrap_or_else(|error| panic!("GET {path} on {admin}: {error}"));
    response.body_mut().read_to_string().expect("answer text")
}
