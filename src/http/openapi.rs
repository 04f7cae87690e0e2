//! The OpenAPI 3.1 document at `GET /openapi.json`, generated from the handlers'
//! `#[utoipa::path]` annotations, and the reference page at `GET /docs` that renders
//! it in the browser from credd alone (no other asset, no internet access).
//!
//! Each resource module describes its own operations and collects them in its `Api`;
//! [`document`] merges those and adds what operations share, so that no annotation
//! repeats it: the path parameters as the router names them, and the PingOne error
//! responses that an operation's caller, parameters and body make possible. The
//! document must never promise a shape credd does not send: `scripts/fuzz` checks
//! every response schemathesis provokes against it.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Header, OpenApi as Document, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{OpenApi, PartialSchema, ToSchema};

use super::AppState;
use super::error::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json)).routes(routes!(reference_page))
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| document().to_json().expect("the document serializes"));

/// This document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "readOpenApiDocument", tag = "Reference", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object)))]
async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT.as_str())
}

/// The API reference, a page that renders this document.
#[utoipa::path(get, path = "/docs", operation_id = "readReferencePage", tag = "Reference", security(()),
    responses((status = 200, description = "An HTML page.", content_type = "text/html", body = String)))]
async fn reference_page() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], include_str!("reference.html"))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "credd",
        description = "A self-hostable credentials service that speaks the PingOne Platform API: environments, \
            worker applications and their token endpoint, users, digital wallets and their pairing, credential \
            types and user credentials, MFA devices, notifications. Errors are PingOne's error body."
    ),
    components(schemas(ErrorBody)),
    security(("bearer" = [])),
)]
struct Reference;

/// What the document says besides the operations: its title and description, and
/// the bearer token as the default security.
pub fn base() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(Reference::openapi())
}

/// `routes` with each operation under `tag`, unless its annotation names another.
pub fn tagged(tag: &str, mut routes: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    for operation in routes.get_openapi_mut().paths.paths.values_mut().flat_map(operations) {
        if operation.tags.as_ref().is_none_or(Vec::is_empty) {
            operation.tags = Some(vec![tag.to_owned()]);
        }
    }
    routes
}

/// The whole document: every route's operation, with the parameters and error
/// responses operations share.
pub fn document() -> Document {
    let mut document = super::api().into_openapi();
    let components = document.components.get_or_insert_with(Default::default);
    components.schemas.insert(TemplateName::name().into(), TemplateName::schema());
    components.security_schemes.extend(security_schemes());
    components.responses.extend(ERROR_RESPONSES.iter().map(|e| (e.name.to_owned(), error_response(e))));
    for (route, item) in document.paths.paths.iter_mut() {
        let names = path_parameter_names(route);
        for operation in operations(item) {
            add_path_parameters(operation, &names);
            add_error_responses(operation, !names.is_empty());
        }
    }
    document
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
}

fn security_schemes() -> [(String, SecurityScheme); 3] {
    let http = |scheme, description: &str| {
        SecurityScheme::Http(HttpBuilder::new().scheme(scheme).description(Some(description)).build())
    };
    [
        (
            "bearer".into(),
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from `POST /{environmentId}/as/token`: a worker application's \
                         (client_credentials), or a user's self-service token (token exchange).",
                    ))
                    .build(),
            ),
        ),
        ("walletToken".into(), http(HttpAuthScheme::Bearer, "The wallet's access token, which pairing returned.")),
        (
            "clientSecretBasic".into(),
            http(
                HttpAuthScheme::Basic,
                "client_secret_basic: the worker application's id and secret. A worker whose \
                 `tokenEndpointAuthMethod` is CLIENT_SECRET_POST sends `client_id` and `client_secret` in the \
                 form instead.",
            ),
        ),
    ]
}

struct ErrorResponse {
    status: u16,
    name: &'static str,
    description: &'static str,
}

/// The errors [`add_error_responses`] documents, each rendered as PingOne's error body.
/// 409 and 429 belong to a few operations, whose annotations name them.
const ERROR_RESPONSES: &[ErrorResponse] = &[
    ErrorResponse {
        status: 400,
        name: "BadRequest",
        description: "`INVALID_DATA`: a value was rejected (each `details[].target` names one); or \
            `INVALID_REQUEST`: malformed JSON, an invalid id in the path, a bad query parameter.",
    },
    ErrorResponse {
        status: 401,
        name: "Unauthorized",
        description: "`ACCESS_FAILED`: no valid access token (at the token endpoint: client authentication \
            failed, OAuth `error` `invalid_client`).",
    },
    ErrorResponse {
        status: 403,
        name: "Forbidden",
        description: "`ACCESS_FAILED`: the token may not do this (another environment, another user, a \
            missing scope).",
    },
    ErrorResponse { status: 404, name: "NotFound", description: "`NOT_FOUND`: no such resource here." },
    ErrorResponse {
        status: 413,
        name: "PayloadTooLarge",
        description: "`INVALID_REQUEST`: the request body is larger than credd accepts (`--body-limit-bytes`).",
    },
    ErrorResponse {
        status: 415,
        name: "UnsupportedMediaType",
        description: "`INVALID_REQUEST`: the Content-Type is not one this operation accepts.",
    },
];

/// A response whose body is the `Error` schema; a 401 says so in `WWW-Authenticate` too.
fn error_response(error: &ErrorResponse) -> RefOr<utoipa::openapi::Response> {
    let mut response = ResponseBuilder::new()
        .description(error.description)
        .content("application/json", Content::new(Some(Ref::from_schema_name(ErrorBody::name()))));
    if error.status == 401 {
        let mut header = Header::new(String::schema());
        header.description = Some("`Bearer` on a missing or invalid access token.".into());
        response = response.header("WWW-Authenticate", header);
    }
    response.build().into()
}

/// Who may call an operation, from its `security` (none: the document's bearer token).
#[derive(PartialEq)]
enum Caller {
    /// A worker's or a user's access token.
    Bearer,
    /// A wallet's token, or a worker's client credentials: no 403, no scopes.
    Credentials,
    Anyone,
}

fn caller(operation: &Operation) -> Caller {
    let Some(requirements) = &operation.security else { return Caller::Bearer };
    let schemes: Vec<String> = requirements
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .filter_map(|v| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()))
        .flatten()
        .collect();
    match schemes.as_slice() {
        [] => Caller::Anyone,
        names if names.iter().any(|n| n == "bearer") => Caller::Bearer,
        _ => Caller::Credentials,
    }
}

/// The errors an operation can meet, by what it takes: 400 for any input to reject,
/// 401 unless anyone may call it, 403 for bearer tokens, 404 for ids in the path,
/// 415 for a body, and 413 everywhere (the body limit guards every route, on the
/// declared length too). Responses an annotation wrote itself stay.
fn add_error_responses(operation: &mut Operation, has_path_parameters: bool) {
    let caller = caller(operation);
    let has_input = has_path_parameters || operation.parameters.is_some() || operation.request_body.is_some();
    for error in ERROR_RESPONSES {
        let applies = match error.status {
            400 => has_input,
            401 => caller != Caller::Anyone,
            403 => caller == Caller::Bearer,
            404 => has_path_parameters,
            415 => operation.request_body.is_some(),
            _ => true,
        };
        if applies {
            operation
                .responses
                .responses
                .entry(error.status.to_string())
                .or_insert_with(|| Ref::from_response_name(error.name).into());
        }
    }
}

/// `{environment_id}`, … in the order the route names them.
fn path_parameter_names(route: &str) -> Vec<&str> {
    route.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')).collect()
}

/// What each path parameter the routers name is.
const PATH_PARAMETERS: &[(&str, &str)] = &[
    ("environment_id", "The environment's id."),
    ("application_id", "The application's id."),
    ("user_id", "The user's id."),
    ("wallet_id", "The digital wallet's id."),
    ("request_id", "The pairing request's id: the last segment of the wallet's `qrUrl`."),
    ("template_name", "The template."),
    ("content_id", "The template content's id."),
    ("notification_id", "The notification's id."),
    ("type_id", "The credential type's id."),
    ("version_id", "The credential type version's id."),
    ("credential_id", "The user credential's id."),
    ("provisioned_id", "The provisioned credential's id, as the wallet's mailbox lists it."),
    ("device_id", "The MFA device's id."),
    ("policy_id", "The device authentication policy's id."),
    ("population_id", "The population's id."),
    ("group_id", "The group's id."),
    ("nested_group_id", "The id of a group the group is in."),
];

fn add_path_parameters(operation: &mut Operation, names: &[&str]) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    let declared: Vec<String> = parameters.iter().map(|p| p.name.clone()).collect();
    let added = names.iter().filter(|name| !declared.iter().any(|d| d == *name)).map(|name| {
        let description = PATH_PARAMETERS.iter().find(|(n, _)| n == name).map(|(_, d)| *d);
        let description = description.unwrap_or_else(|| panic!("add the path parameter {name} to PATH_PARAMETERS"));
        let schema: RefOr<Schema> = if *name == "template_name" {
            Ref::from_schema_name(TemplateName::name()).into()
        } else {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .into()
        };
        ParameterBuilder::new()
            .name(*name)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(description))
            .schema(Some(schema))
            .build()
    });
    // Path parameters first, in the route's order.
    let mut all: Vec<_> = added.collect();
    all.append(parameters);
    *parameters = all;
    if parameters.is_empty() {
        operation.parameters = None;
    }
}

/// Schemas of the domain's named values (`text_enum!`), listed from the domain itself.
macro_rules! text_enums {
    ($($marker:ident => $domain:ty),* $(,)?) => {$(
        #[doc = concat!("The values of `", stringify!($domain), "`.")]
        pub struct $marker;

        impl PartialSchema for $marker {
            fn schema() -> RefOr<Schema> {
                let values = <$domain>::ALL.iter().map(|v| v.as_str());
                ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).into()
            }
        }

        impl ToSchema for $marker {}
    )*};
}

text_enums! {
    EnvironmentType => domain::environment::EnvironmentType,
    Region => domain::environment::Region,
    ApplicationType => domain::application::ApplicationType,
    TokenEndpointAuthMethod => domain::application::TokenEndpointAuthMethod,
    WalletStatus => domain::wallet::WalletStatus,
    PairingStatus => domain::wallet::PairingStatus,
    TemplateName => domain::notification::TemplateName,
    DeliveryMethod => domain::notification::DeliveryMethod,
    NotifyMethod => domain::notification::NotifyMethod,
    NotificationStatus => domain::notification::NotificationStatus,
    ManagementMode => domain::credential::ManagementMode,
    FieldType => domain::credential::FieldType,
    FileSupport => domain::credential::FileSupport,
    ExpirationType => domain::credential::ExpirationType,
    ExpirationTimeUnit => domain::credential::TimeUnit,
    DidMethod => domain::credential::DidMethod,
    CredentialStatus => domain::credential::CredentialStatus,
    ProvisionStatus => domain::credential::ProvisionStatus,
    WalletAction => domain::credential::WalletAction,
    DeviceType => domain::mfa::DeviceType,
    DeviceStatus => domain::mfa::DeviceStatus,
    TimeUnit => domain::mfa::TimeUnit,
    GroupMembershipType => domain::group::MembershipType,
}

/// A time in UTC with milliseconds: `2023-02-10T14:46:24.669Z`.
pub struct Timestamp;

impl PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .examples(["2023-02-10T14:46:24.669Z"])
            .into()
    }
}

impl ToSchema for Timestamp {}

/// Text credd accepts: not blank, without control characters (each field has its own
/// maximum length).
pub struct Text;

impl PartialSchema for Text {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("Not blank, without control characters."))
            .min_length(Some(1))
            .pattern(Some(r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"))
            .into()
    }
}

impl ToSchema for Text {}

/// A language tag: `en`, `en-US`, `fr-CA`.
pub struct LanguageTag;

impl PartialSchema for LanguageTag {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A language tag."))
            .pattern(Some("^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$"))
            .examples(["en", "fr-CA"])
            .into()
    }
}

impl ToSchema for LanguageTag {}
