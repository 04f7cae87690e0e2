//! Hostile requests, one table: each gets the right 4xx in PingOne's error shape (the
//! client in `helpers` fails any 5xx and checks the shape and `x-request-id` of every
//! 4xx), and nothing it sends is taken as code.

use axum::http::{Method, StatusCode};
use credd::wallet_client;
use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

/// Above the 100k-character strings below, so they reach validation as they would
/// under the 1 MiB default.
const BODY_LIMIT: usize = 256 * 1024;

on_both_backends!(args = ["--body-limit-bytes", "262144"]; hostile_requests_get_a_4xx_in_the_pingone_shape);

/// What a case must get back.
enum Expect {
    Error(StatusCode, &'static str),
    /// 200 with an empty list: a filter value is data, whatever SQL it holds, and
    /// matches none of the environment's users.
    NoMatch,
}
use Expect::NoMatch;

fn err(status: u16, code: &'static str) -> Expect {
    Expect::Error(StatusCode::from_u16(status).unwrap(), code)
}

struct Case {
    what: &'static str,
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    expect: Expect,
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

async fn hostile_requests_get_a_4xx_in_the_pingone_shape(app: &TestApp) {
    assert_eq!(app.args.body_limit_bytes, BODY_LIMIT);
    let token = app.admin_token().await;
    let env = app.create_environment(&token, "Hostile").await;
    for username in ["ada", "bob"] {
        app.create_user(&token, &env, json!({ "username": username, "email": format!("{username}@example.com") }))
            .await;
    }
    let user = app.create_user(&token, &env, json!({ "username": "eve" })).await["id"].as_str().unwrap().to_owned();
    let (client_id, secret) = app.create_worker(&token, &env, json!({ "name": "w", "type": "WORKER" })).await;
    let wallet_app = app.create_wallet_application(&token, &env).await;
    let wallet =
        app.create_wallet(&token, &env, &user, json!({ "digitalWalletApplication": { "id": wallet_app } })).await;
    let pairing = wallet["pairingSession"]["qrUrl"].as_str().unwrap().strip_prefix("https://credd.test").unwrap();
    let paired = wallet_client::pair(app, wallet["pairingSession"]["qrUrl"].as_str().unwrap(), "phone").await.unwrap();

    let users = format!("/v1/environments/{env}/users");
    let devices = format!("{users}/{user}/devices");
    let mailbox = format!("/v1/distributedid/wallets/{}/credentials", paired.wallet_id);
    let token_endpoint = format!("/{env}/as/token");
    let long = "x".repeat(100_000);
    let too_big = "x".repeat(BODY_LIMIT + 1);
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));

    let admin =
        |content_type: &str| vec![("authorization", format!("Bearer {token}")), ("content-type", content_type.into())];
    let wallet_token = |content_type: &str| {
        vec![("authorization", format!("Bearer {}", paired.access_token)), ("content-type", content_type.into())]
    };
    let anonymous = |content_type: &str| vec![("content-type", content_type.to_owned())];
    let basic = || {
        use base64::Engine;
        let pair = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
        vec![("authorization", format!("Basic {pair}")), ("content-type", FORM.to_owned())]
    };
    let filter = |value: &str| {
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        format!("{users}?filter={encoded}")
    };
    // A valid body with some of its fields replaced, so only those can be refused.
    let with = |valid: &serde_json::Value, hostile: serde_json::Value| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().extend(hostile.as_object().unwrap().clone());
        body.to_string().into_bytes()
    };
    let new_user = json!({ "username": "new" });
    let new_type = json!({ "title": "t", "management": { "mode": "AUTOMATED" }, "metadata": { "fields": [
        { "id": "f", "type": "Alphanumeric Text", "title": "F", "value": "v" }] } });
    let types = format!("/v1/environments/{env}/credentialTypes");
    let case = |what, method, path: &str, headers, body: &[u8], expect| Case {
        what,
        method,
        path: path.to_owned(),
        headers,
        body: body.to_vec(),
        expect,
    };
    use Method as M;
    #[rustfmt::skip]
    let cases = vec![
        // Malformed JSON.
        case("cut short", M::POST, &users, admin(JSON), br#"{"username":"#, err(400, "INVALID_REQUEST")),
        case("trailing comma", M::POST, &users, admin(JSON), br#"{"username":"a",}"#, err(400, "INVALID_REQUEST")),
        case("not UTF-8", M::POST, &users, admin(JSON), b"{\"username\":\"\xff\xfe\"}", err(400, "INVALID_REQUEST")),
        case("empty body", M::POST, &users, admin(JSON), b"", err(400, "INVALID_REQUEST")),
        case("a bare string", M::POST, &users, admin(JSON), br#""ada""#, err(400, "INVALID_REQUEST")),
        case("null", M::POST, &users, admin(JSON), b"null", err(400, "INVALID_REQUEST")),
        case("nested 10,000 deep", M::POST, pairing, anonymous(JSON), format!(r#"{{"deviceData":{nested}}}"#).as_bytes(), err(400, "INVALID_REQUEST")),
        case("a duplicate key", M::POST, &users, admin(JSON), br#"{"username":"a","username":"b"}"#, err(400, "INVALID_REQUEST")),
        case("malformed pairing", M::POST, pairing, anonymous(JSON), b"{challenge}", err(400, "INVALID_REQUEST")),
        // Wrong JSON types.
        case("number for a string", M::POST, &users, admin(JSON), br#"{"username":42}"#, err(400, "INVALID_DATA")),
        case("string for an object", M::POST, &users, admin(JSON), br#"{"username":"a","name":"Ada"}"#, err(400, "INVALID_DATA")),
        case("huge number", M::PUT, &format!("/v1/environments/{env}/mfaSettings"), admin(JSON), br#"{"pairing":{"maxAllowedDevices":1e999}}"#, err(400, "INVALID_REQUEST")),
        case("string for a number", M::PUT, &format!("/v1/environments/{env}/mfaSettings"), admin(JSON), br#"{"pairing":{"maxAllowedDevices":"five"}}"#, err(400, "INVALID_DATA")),
        case("string for a reference", M::POST, &format!("{users}/{user}/digitalWallets"), admin(JSON), br#"{"digitalWalletApplication":"x"}"#, err(400, "INVALID_DATA")),
        case("number for a challenge", M::POST, pairing, anonymous(JSON), br#"{"challenge":123}"#, err(400, "INVALID_DATA")),
        case("fraction for an integer", M::POST, &format!("/v1/environments/{env}/deviceAuthenticationPolicies"), admin(JSON), br#"{"name":"p","sms":{"otp":{"otpLength":6.5}}}"#, err(400, "INVALID_DATA")),
        case("object for credential data", M::POST, &format!("{users}/{user}/credentials"), admin(JSON), br#"{"credentialType":{"id":"0190a3b4-0000-7000-8000-000000000000"},"data":{"Level":{"a":1}}}"#, err(400, "INVALID_DATA")),
        // Unknown enum values.
        case("application type", M::POST, &format!("/v1/environments/{env}/applications"), admin(JSON), br#"{"name":"a","type":"ROBOT"}"#, err(400, "INVALID_DATA")),
        case("auth method", M::POST, &format!("/v1/environments/{env}/applications"), admin(JSON), br#"{"name":"a","type":"WORKER","tokenEndpointAuthMethod":"PRIVATE_KEY_JWT"}"#, err(400, "INVALID_DATA")),
        case("device type", M::POST, &devices, admin(JSON), br#"{"type":"PIGEON"}"#, err(400, "INVALID_DATA")),
        case("notification method", M::POST, &format!("{users}/{user}/digitalWallets"), admin(JSON), format!(r#"{{"digitalWalletApplication":{{"id":"{wallet_app}"}},"notification":{{"methods":["PIGEON"]}}}}"#).as_bytes(), err(400, "INVALID_DATA")),
        case("management mode", M::POST, &format!("/v1/environments/{env}/credentialTypes"), admin(JSON), br#"{"title":"t","management":{"mode":"SOMETIMES"}}"#, err(400, "INVALID_DATA")),
        case("time unit", M::POST, &format!("/v1/environments/{env}/deviceAuthenticationPolicies"), admin(JSON), br#"{"name":"p","sms":{"otp":{"lifeTime":{"duration":5,"timeUnit":"FORTNIGHTS"}}}}"#, err(400, "INVALID_DATA")),
        case("delivery method", M::POST, &format!("/v1/environments/{env}/templates/device_pairing/contents"), admin(JSON), br#"{"deliveryMethod":"Fax","locale":"en","content":"x"}"#, err(400, "INVALID_DATA")),
        case("template name", M::GET, &format!("/v1/environments/{env}/templates/drop_tables/contents"), admin(JSON), b"", err(404, "NOT_FOUND")),
        case("wallet action", M::POST, &format!("{mailbox}/{}", uuid::Uuid::now_v7()), wallet_token(JSON), br#"{"action":"EAT"}"#, err(400, "INVALID_DATA")),
        case("grant type", M::POST, &token_endpoint, basic(), b"grant_type=password", err(400, "INVALID_REQUEST")),
        // Overlong strings.
        case("username", M::POST, &users, admin(JSON), &with(&new_user, json!({ "username": long })), err(400, "INVALID_DATA")),
        case("user's given name", M::POST, &users, admin(JSON), &with(&new_user, json!({ "name": { "given": long } })), err(400, "INVALID_DATA")),
        case("email", M::POST, &users, admin(JSON), &with(&new_user, json!({ "email": format!("{long}@example.com") })), err(400, "INVALID_DATA")),
        case("environment name", M::POST, "/v1/environments", admin(JSON), json!({ "name": long }).to_string().as_bytes(), err(400, "INVALID_DATA")),
        case("application name", M::POST, &format!("/v1/environments/{env}/applications"), admin(JSON), json!({ "name": long, "type": "WORKER" }).to_string().as_bytes(), err(400, "INVALID_DATA")),
        case("wallet app name", M::POST, &format!("/v1/environments/{env}/digitalWalletApplications"), admin(JSON), json!({ "name": long, "application": { "id": uuid::Uuid::new_v4() }, "appOpenUrl": "https://a.example" }).to_string().as_bytes(), err(400, "INVALID_DATA")),
        case("credential type title", M::POST, &types, admin(JSON), &with(&new_type, json!({ "title": long })), err(400, "INVALID_DATA")),
        case("credential type description", M::POST, &types, admin(JSON), &with(&new_type, json!({ "description": long })), err(400, "INVALID_DATA")),
        case("card metadata", M::POST, &types, admin(JSON), &with(&new_type, json!({ "metadata": { "name": long, "fields": new_type["metadata"]["fields"] } })), err(400, "INVALID_DATA")),
        case("policy name", M::POST, &format!("/v1/environments/{env}/deviceAuthenticationPolicies"), admin(JSON), json!({ "name": long }).to_string().as_bytes(), err(400, "INVALID_DATA")),
        case("template content", M::POST, &format!("/v1/environments/{env}/templates/device_pairing/contents"), admin(JSON), json!({ "deliveryMethod": "SMS", "locale": "en", "content": format!("{long}{long}") }).to_string().as_bytes(), err(400, "INVALID_DATA")),
        case("application instance id", M::POST, &format!("{users}/{user}/digitalWallets"), admin(JSON), json!({ "digitalWalletApplication": { "id": wallet_app }, "applicationInstance": { "id": long } }).to_string().as_bytes(), err(400, "INVALID_DATA")),
        case("scope", M::POST, &token_endpoint, basic(), format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token={user}&subject_token_type=urn%3Acredd%3Aparams%3Aoauth%3Atoken-type%3Auser-id&scope={long}").as_bytes(), err(400, "INVALID_REQUEST")),
        // Control characters (PostgreSQL text cannot hold a NUL).
        case("a NUL in a username", M::POST, &users, admin(JSON), &with(&new_user, json!({ "username": "a\u{0}b" })), err(400, "INVALID_DATA")),
        case("a NUL in an email", M::POST, &users, admin(JSON), &with(&new_user, json!({ "email": "a\u{0}@example.com" })), err(400, "INVALID_DATA")),
        case("a NUL in a type description", M::POST, &types, admin(JSON), &with(&new_type, json!({ "description": "a\u{0}b" })), err(400, "INVALID_DATA")),
        case("a NUL in a card type", M::POST, &types, admin(JSON), &with(&new_type, json!({ "cardType": "a\u{0}b" })), err(400, "INVALID_DATA")),
        case("a NUL in a field value", M::POST, &types, admin(JSON), &with(&new_type, json!({ "metadata": { "fields": [{ "id": "f", "type": "Alphanumeric Text", "title": "F", "value": "\u{0}" }] } })), err(400, "INVALID_DATA")),
        case("a NUL in a template variant", M::POST, &format!("/v1/environments/{env}/templates/device_pairing/contents"), admin(JSON), br#"{"deliveryMethod":"SMS","locale":"en","variant":"a\u0000","content":"x"}"#, err(400, "INVALID_DATA")),
        // Invalid UUIDs, in paths and bodies.
        case("environment id", M::GET, "/v1/environments/not-a-uuid", admin(JSON), b"", err(400, "INVALID_REQUEST")),
        case("user id with SQL", M::GET, &format!("{users}/'%20OR%201=1--"), admin(JSON), b"", err(400, "INVALID_REQUEST")),
        case("pairing request id", M::GET, "/v1/distributedid/requests/1234", anonymous(JSON), b"", err(400, "INVALID_REQUEST")),
        case("wallet id", M::GET, "/v1/distributedid/wallets/x/credentials", wallet_token(JSON), b"", err(400, "INVALID_REQUEST")),
        case("token endpoint environment", M::POST, "/not-a-uuid/as/token", basic(), b"grant_type=client_credentials", err(400, "INVALID_REQUEST")),
        case("nil environment id", M::GET, "/v1/environments/00000000-0000-0000-0000-000000000000/users", admin(JSON), b"", err(404, "NOT_FOUND")),
        case("reference id", M::POST, &format!("{users}/{user}/digitalWallets"), admin(JSON), br#"{"digitalWalletApplication":{"id":"not-a-uuid"}}"#, err(400, "INVALID_DATA")),
        case("reorder ids", M::POST, &devices, admin("application/vnd.pingidentity.devices.reorder+json"), br#"{"order":[{"id":"1 OR 1=1"}]}"#, err(400, "INVALID_DATA")),
        case("client id", M::POST, &token_endpoint, anonymous(FORM), b"grant_type=client_credentials&client_id=x'--&client_secret=y", err(401, "ACCESS_FAILED")),
        case("subject token", M::POST, &token_endpoint, basic(), b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=ada&subject_token_type=urn%3Acredd%3Aparams%3Aoauth%3Atoken-type%3Auser-id&scope=p1%3Aread%3Auser", err(400, "INVALID_REQUEST")),
        // Bodies over the limit.
        case("a JSON body", M::POST, &users, admin(JSON), json!({ "username": too_big }).to_string().as_bytes(), err(413, "INVALID_REQUEST")),
        case("a form body", M::POST, &token_endpoint, anonymous(FORM), format!("grant_type={too_big}").as_bytes(), err(413, "INVALID_REQUEST")),
        case("a pairing body", M::POST, pairing, anonymous(JSON), json!({ "challenge": too_big }).to_string().as_bytes(), err(413, "INVALID_REQUEST")),
        case("a declared length", M::POST, &users, [admin(JSON), vec![("content-length", "999999999".into())]].concat(), br#"{"username":"a"}"#, err(413, "INVALID_REQUEST")),
        // Wrong Content-Type.
        case("text/plain", M::POST, &users, admin("text/plain"), br#"{"username":"a"}"#, err(415, "INVALID_REQUEST")),
        case("none", M::POST, &users, vec![("authorization", format!("Bearer {token}"))], br#"{"username":"a"}"#, err(415, "INVALID_REQUEST")),
        case("a form for JSON", M::POST, &users, admin(FORM), b"username=a", err(415, "INVALID_REQUEST")),
        case("multipart", M::POST, pairing, anonymous("multipart/form-data; boundary=x"), b"--x--", err(415, "INVALID_REQUEST")),
        case("JSON for a form", M::POST, &token_endpoint, anonymous(JSON), br#"{"grant_type":"client_credentials"}"#, err(415, "INVALID_REQUEST")),
        case("an unknown action", M::POST, &devices, admin("application/vnd.pingidentity.devices.explode+json"), b"{}", err(415, "INVALID_REQUEST")),
        // SCIM filters with quotes and SQL metacharacters.
        case("SQL in a value", M::GET, &filter(r#"email eq "x' OR 1=1 --""#), admin(JSON), b"", NoMatch),
        case("SQL quotes in a value", M::GET, &filter(r#"username eq "x' OR '1'='1""#), admin(JSON), b"", NoMatch),
        case("escaped quotes in a value", M::GET, &filter(r#"username eq "\" OR \"\"=\"""#), admin(JSON), b"", NoMatch),
        case("a NUL in a value", M::GET, &filter(r#"username eq "ada\u0000""#), admin(JSON), b"", err(400, "INVALID_DATA")),
        case("unbalanced quotes", M::GET, &filter(r#"username eq "ada"#), admin(JSON), b"", err(400, "INVALID_DATA")),
        case("single quotes", M::GET, &filter("username eq 'ada'"), admin(JSON), b"", err(400, "INVALID_DATA")),
        case("or 1=1", M::GET, &filter(r#"username eq "ada" or 1=1"#), admin(JSON), b"", err(400, "INVALID_DATA")),
        case("a second statement", M::GET, &filter(r#"username eq "ada"; DROP TABLE users; --"#), admin(JSON), b"", err(400, "INVALID_DATA")),
        case("a comment", M::GET, &filter(r#"username eq "ada" -- "#), admin(JSON), b"", err(400, "INVALID_DATA")),
        case("invalid UTF-8", M::GET, &format!("{users}?filter=username%20eq%20%22%FF%22"), admin(JSON), b"", NoMatch),
        // Path traversal.
        case("dot segments", M::GET, "/v1/environments/../..", admin(JSON), b"", err(404, "NOT_FOUND")),
        case("encoded dot segments", M::GET, "/v1/environments/%2e%2e%2f%2e%2e%2fetc%2fpasswd", admin(JSON), b"", err(400, "INVALID_REQUEST")),
        case("encoded in a user id", M::GET, &format!("{users}/..%2f..%2f..%2f"), admin(JSON), b"", err(400, "INVALID_REQUEST")),
        case("encoded backslashes", M::GET, &format!("{users}/..%5c..%5cwindows"), admin(JSON), b"", err(400, "INVALID_REQUEST")),
        case("at the root", M::GET, "/%2e%2e/%2e%2e/etc/passwd", anonymous(JSON), b"", err(404, "NOT_FOUND")),
        case("to the jwks", M::GET, "/..%2f..%2fetc/as/jwks", anonymous(JSON), b"", err(400, "INVALID_REQUEST")),
        case("in a template name", M::GET, &format!("/v1/environments/{env}/templates/..%2f..%2fusers/contents"), admin(JSON), b"", err(404, "NOT_FOUND")),
    ];

    let mut wrong = Vec::new();
    for case in cases {
        let mut request = app.request(case.method.clone(), &case.path);
        for (name, value) in &case.headers {
            request = request.header(name, value);
        }
        let response = request.body(case.body).send().await;
        let expected = match case.expect {
            Expect::Error(status, code) => (status, Some(code.to_owned())),
            NoMatch => (StatusCode::OK, None),
        };
        let got = (response.status, response.body["code"].as_str().map(str::to_owned));
        let matched = matches!(case.expect, NoMatch) && response.body["size"] == 0;
        if got != expected || (expected.0 == StatusCode::OK && !matched) {
            let path: String = case.path.chars().take(200).collect();
            wrong.push(format!("{}: {} {path}: {}", case.what, case.method, response.body));
        }
    }
    assert!(wrong.is_empty(), "unexpected answers:\n{}", wrong.join("\n"));
    // Nothing above created anything: still the three users.
    assert_eq!(app.get(&users).bearer(&token).send().await.body["size"], 3);
}
