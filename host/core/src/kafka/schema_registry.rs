//! A client of a Confluent-compatible schema registry: the writer schema of
//! a Confluent-framed message by its id (`GET /schemas/ids/{id}`), for a
//! topic whose `format.registry_url` is set. Lookups are rare (once per new
//! id; the answer is kept by the topic's format), so a small blocking client
//! on a blocking thread serves.

use std::time::Duration;

use fleethost_event::format::PayloadFormat;

/// How long one registry request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts for a registry that does not answer, with doubling pauses.
const ATTEMPTS: u32 = 3;
const FIRST_PAUSE: Duration = Duration::from_millis(250);

/// What the registry answers for a schema id.
#[derive(Debug, serde::Deserialize)]
struct SchemaById {
    schema: String,
    /// `AVRO` (also when absent), `PROTOBUF` or `JSON`.
    #[serde(rename = "schemaType")]
    schema_type: Option<String>,
}

/// Asks `format`'s registry for the writer schema of each id in `ids`
/// and adds what it learns to `format`. An id the registry does not have,
/// or cannot be reached for after a few attempts, stays unknown, with the
/// reason kept for the error its messages get.
pub async fn learn(format: &PayloadFormat, ids: Vec<u32>) {
    let Some(url) = format.registry_url().map(str::to_owned) else {
        return;
    };
    for id in ids {
        let fetched = {
            let url = url.clone();
            tokio::task::spawn_blocking(move || fetch(&url, id))
                .await
                .unwrap_or_else(|error| Err(format!("the lookup failed: {error}")))
        };
        let learnt = fetched.and_then(|answer| {
            format
                .learn_schema(id, answer.schema_type.as_deref(), &answer.schema)
                .map_err(|error| format!("its schema for id {id} does not compile: {error}"))
        });
        match learnt {
            Ok(()) => tracing::info!(registry = %url, schema_id = id, "writer schema learnt from the registry"),
            Err(reason) => {
                tracing::warn!(registry = %url, schema_id = id, %reason, "writer schema not learnt");
                format.note_unknown(id, format!("the registry {url}: {reason}"));
            }
        }
    }
}

/// One lookup, retried while the registry does not answer.
fn fetch(url: &str, id: u32) -> Result<SchemaById, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build()
        .into();
    let address = format!("{url}/schemas/ids/{id}");
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        match agent
            .get(&address)
            .header("Accept", "application/vnd.schemaregistry.v1+json")
            .call()
        {
            Ok(mut response) if response.status() == 200 => {
                return response
                    .body_mut()
                    .read_json::<SchemaById>()
                    .map_err(|error| format!("GET {address}: the answer is not a schema: {error}"));
            }
            Ok(mut response) if response.status().is_client_error() => {
                let body = response.body_mut().read_to_string().unwrap_or_default();
                return Err(format!("GET {address}: {} {}", response.status(), body.trim()));
            }
            Ok(response) if attempt >= ATTEMPTS => {
                return Err(format!("GET {address}: {} after {attempt} attempts", response.status()));
            }
            Err(error) if attempt >= ATTEMPTS => {
                return Err(format!("GET {address}: {error} after {attempt} attempts"));
            }
            _ => {}
        }
        std::thread::sleep(pause);
        pause *= 2;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use axum::extract::Path;
    use axum::http::StatusCode;
    use axum::routing::get;
    use fleethost_event::format::{Encoding, FormatConfig, Framing};

    use super::*;

    const LOCATION_V1: &str = r#"{"type": "record", "name": "Location", "fields": [
        {"name": "driver_id", "type": "string"},
        {"name": "latitude", "type": "double"},
        {"name": "longitude", "type": "double"}]}"#;

    /// A registry speaking the Confluent API: id 5 is an Avro schema, id 6
    /// a Protobuf one, anything else is unknown (the registry's 404 body).
    async fn registry() -> String {
        let app = axum::Router::new().route(
            "/schemas/ids/{id}",
            get(|Path(id): Path<u32>| async move {
                match id {
                    5 => (StatusCode::OK, serde_json::json!({"schema": LOCATION_V1}).to_string()),
                    6 => (
                        StatusCode::OK,
                        serde_json::json!({"schema": "syntax = \"proto3\";", "schemaType": "PROTOBUF"}).to_string(),
                    ),
                    _ => (
                        StatusCode::NOT_FOUND,
                        r#"{"error_code":40403,"message":"Schema not found"}"#.to_string(),
                    ),
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}")
    }

    fn avro_topic(registry_url: String) -> PayloadFormat {
        let config = FormatConfig {
            encoding: Encoding::Avro,
            framing: Some(Framing::Confluent),
            schema: Some(PathBuf::from("location.avsc")),
            message: None,
            schema_id: Some(1),
            writer_schemas: Default::default(),
            registry_url: Some(registry_url),
        };
        let schemas = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        PayloadFormat::load(&config, &schemas).unwrap()
    }

    /// A Confluent-framed fix of schema `id`: driver "d", (12.5, 77.5).
    fn framed(id: u32) -> Vec<u8> {
        let mut payload = vec![0];
        payload.extend(id.to_be_bytes());
        payload.extend([2, b'd']);
        payload.extend(12.5f64.to_le_bytes());
        payload.extend(77.5f64.to_le_bytes());
        payload
    }

    #[tokio::test]
    async fn writer_schemas_are_learnt_by_id_and_refusals_are_kept_as_reasons() {
        let format = avro_topic(registry().await);
        let payloads = [framed(5), framed(5), framed(6), framed(9)];
        let ids = format.unknown_schema_ids(payloads.iter().map(|payload| Some(payload.as_slice())));
        assert_eq!(ids, [5, 6, 9]);
        learn(&format, ids).await;

        let fields = format.fields(Some(&framed(5))).expect("id 5 was learnt");
        assert_eq!(fields["driver_id"], "d");
        assert_eq!(fields["latitude"], 12.5);
        let wrong_type = format.fields(Some(&framed(6))).unwrap_err().to_string();
        assert!(
            wrong_type.contains("a PROTOBUF schema; the topic is avro"),
            "{wrong_type}"
        );
        let unknown = format.fields(Some(&framed(9))).unwrap_err().to_string();
        assert!(unknown.contains("unknown schema id 9"), "{unknown}");
        assert!(unknown.contains("404"), "{unknown}");
        assert!(unknown.contains("Schema not found"), "{unknown}");
        // Not asked for again at once: its messages are dead-lettered
        // without waiting on the registry each batch.
        assert!(format.unknown_schema_ids([Some(framed(9).as_slice())]).is_empty());
    }

    #[tokio::test]
    async fn a_registry_that_does_not_answer_is_named_in_the_reason() {
        let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", unused.local_addr().unwrap());
        drop(unused);
        let format = avro_topic(url.clone());
        learn(&format, vec![5]).await;
        let reason = format.fields(Some(&framed(5))).unwrap_err().to_string();
        assert!(reason.contains(&format!("the registry {url}")), "{reason}");
        assert!(reason.contains("after 3 attempts"), "{reason}");
    }
}
