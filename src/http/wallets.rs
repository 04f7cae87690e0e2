//! `/v1/environments/{envId}/users/{userId}/digitalWallets`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;
use domain::notification::{NotifyMethod, normalize_variant, template_variables};
use domain::user::Locale;
use domain::validation::{Collector, FieldError};
use domain::wallet::{DigitalWallet, WalletStatus, application_instance_id};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::error::ErrorBody;
use super::extract::{Caller, Json, Path, Query};
use super::openapi;
use super::wire::{self, ListQuery, Ref};
use crate::error::{Error, Result};
use crate::service::notifications::{NotificationReport, NotificationRequest, NotificationResult};
use crate::service::wallets::WalletDetails;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, administer, delete))
        .routes(routes!(pairing_qr))
}

/// `notification` as requests send it: whom to tell, by which methods, with which content.
#[derive(Deserialize, ToSchema)]
#[schema(as = NotificationRequest)]
pub struct NotificationBody {
    #[schema(value_type = Option<Vec<openapi::NotifyMethod>>)]
    methods: Option<Vec<String>>,
    template: Option<TemplateBody>,
}

#[derive(Deserialize, ToSchema)]
#[schema(as = NotificationTemplateRequest)]
struct TemplateBody {
    /// The content's locale; else the user's preferred language, their locale, `en`.
    #[schema(value_type = Option<openapi::LanguageTag>)]
    locale: Option<String>,
    /// The content's variant; else the locale's default content.
    #[schema(value_type = Option<openapi::Text>)]
    variant: Option<String>,
    /// Values for `${name}` in the content, besides credd's own: at most 100, names of
    /// at most 100 characters, values of at most 4,096.
    #[serde(default)]
    variables: BTreeMap<String, Value>,
}

impl NotificationBody {
    pub fn parse(self, errors: &mut Collector) -> NotificationRequest {
        let methods = self
            .methods
            .unwrap_or_default()
            .iter()
            .filter_map(|m| {
                errors.take(NotifyMethod::parse(m).ok_or_else(|| {
                    FieldError::invalid(
                        "notification.methods",
                        format!("{m} is not a notification method; use EMAIL or SMS."),
                    )
                }))
            })
            .collect();
        let template =
            self.template.unwrap_or(TemplateBody { locale: None, variant: None, variables: BTreeMap::new() });
        let locale =
            template.locale.and_then(|l| errors.take(Locale::parse("notification.template.locale", &l)).map(|_| l));
        let variant = template.variant.and_then(|v| errors.take(normalize_variant(&v)).map(|_| v));
        let variables = template
            .variables
            .into_iter()
            .map(|(k, v)| (k, if let Value::String(s) = v { s } else { v.to_string() }))
            .collect();
        let variables = errors
            .take(template_variables(variables).map_err(|e| e.within("notification.template")))
            .unwrap_or_default();
        NotificationRequest { methods, locale, variant, variables }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DigitalWalletRequest)]
struct CreateBody {
    #[schema(required = true, nullable = false)]
    digital_wallet_application: Option<Ref>,
    application_instance: Option<InstanceBody>,
    /// Sends the user the pairing link (`digital_wallet_pairing`).
    notification: Option<NotificationBody>,
}

/// The wallet app's installation.
#[derive(Deserialize, ToSchema)]
#[schema(as = ApplicationInstanceRequest)]
struct InstanceBody {
    #[schema(value_type = Option<openapi::Text>)]
    id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DigitalWalletUpdate)]
struct UpdateBody {
    /// `ACTIVE` or `DISABLED`.
    #[schema(value_type = Option<openapi::WalletStatus>)]
    status: Option<String>,
    /// May be set while unset.
    application_instance: Option<InstanceBody>,
}

fn instance_id(errors: &mut Collector, body: Option<InstanceBody>) -> Option<String> {
    body.and_then(|i| i.id).and_then(|id| errors.take(application_instance_id("applicationInstance.id", &id)))
}

/// A digital wallet; `_links.qrUrl` and `_links.appOpen` while it waits for pairing.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DigitalWallet)]
struct WalletView {
    #[serde(rename = "_links")]
    links: wire::LinkSet,
    id: Uuid,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: domain::time::Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: domain::time::Timestamp,
    environment: Ref,
    user: Ref,
    digital_wallet_application: Ref,
    #[serde(skip_serializing_if = "Option::is_none")]
    application_instance: Option<ApplicationInstanceView>,
    #[schema(value_type = openapi::WalletStatus)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pairing_session: Option<PairingSessionView>,
    /// On a read of one wallet; lists leave it out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pairing_attempts: Vec<PairingAttemptView>,
    /// What the wallet app sent when it paired.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    device_data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<NotificationReportView>,
}

wire::collection!(Wallets, "digitalWallets", WalletView);

/// The wallet app's installation.
#[derive(Serialize, ToSchema)]
#[schema(as = ApplicationInstance)]
pub(super) struct ApplicationInstanceView {
    id: String,
}

impl ApplicationInstanceView {
    pub(super) fn new(id: String) -> Self {
        Self { id }
    }
}

/// The session that pairs the wallet: `qrUrl` is the link the wallet app opens.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PairingSession)]
struct PairingSessionView {
    id: Uuid,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: domain::time::Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: domain::time::Timestamp,
    environment: Ref,
    user: Ref,
    digital_wallet: Ref,
    challenge: String,
    qr_url: String,
    #[schema(value_type = openapi::PairingStatus)]
    status: &'static str,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    expires_at: domain::time::Timestamp,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PairingAttempt)]
struct PairingAttemptView {
    success: bool,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    attempted_at: domain::time::Timestamp,
}

/// What became of a request's `notification`: one result per method.
#[derive(Serialize, ToSchema)]
#[schema(as = NotificationReport)]
pub(super) struct NotificationReportView {
    #[schema(value_type = Vec<openapi::NotifyMethod>)]
    methods: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<NotificationReportTemplateView>,
    results: Vec<NotificationResultView>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = NotificationReportTemplate)]
struct NotificationReportTemplateView {
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<String>,
}

/// `sent: true` with the notification's id, or `sent: false` with why (a user
/// without that address).
#[derive(Serialize, ToSchema)]
#[schema(as = NotificationResult)]
struct NotificationResultView {
    #[schema(value_type = openapi::NotifyMethod)]
    method: String,
    sent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<Ref>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody>,
}

impl NotificationReportView {
    /// The report a resource of `user_id` keeps (`notification`), if it is readable.
    pub(super) fn of_kept(kept: Option<&str>, user_id: Uuid) -> Option<Self> {
        let report = NotificationReport::from_kept(kept?)?;
        Some(Self {
            methods: report.methods,
            template: report.template.map(|t| NotificationReportTemplateView { locale: t.locale, variant: t.variant }),
            results: report.results.into_iter().map(|result| NotificationResultView::new(result, user_id)).collect(),
        })
    }
}

impl NotificationResultView {
    fn new(result: NotificationResult, user_id: Uuid) -> Self {
        let error = result.missing_address.map(|missing| {
            let attribute = if result.method == NotifyMethod::Email.as_str() { "email" } else { "phone" };
            ErrorBody::invalid_value(missing.id, format!("Could not find {attribute} attribute for user {user_id}."))
        });
        Self {
            method: result.method,
            sent: result.sent,
            notification: result.notification.map(|n| Ref { id: n.id }),
            error,
        }
    }
}

fn view(state: &AppState, details: WalletDetails) -> WalletView {
    let credd = &state.credd;
    let WalletDetails { wallet, session, attempts, application } = details;
    let path =
        format!("/v1/environments/{}/users/{}/digitalWallets/{}", wallet.environment_id, wallet.user_id, wallet.id);
    let mut links = state.links.set([("self", &path)]);
    let pairing_session = session.map(|session| {
        let qr_url = credd.qr_url(&session);
        links.insert("qrUrl", wire::Link { href: qr_url.clone() });
        if let Some(application) = &application {
            links.insert("appOpen", wire::Link { href: credd.app_open_url(application, &session) });
        }
        PairingSessionView {
            id: session.id,
            created_at: session.created_at,
            updated_at: session.updated_at,
            environment: Ref { id: session.environment_id },
            user: Ref { id: session.user_id },
            digital_wallet: Ref { id: session.wallet_id },
            challenge: session.challenge,
            qr_url,
            status: session.status.as_str(),
            expires_at: session.expires_at,
        }
    });
    WalletView {
        links,
        id: wallet.id,
        created_at: wallet.created_at,
        updated_at: wallet.updated_at,
        environment: Ref { id: wallet.environment_id },
        user: Ref { id: wallet.user_id },
        digital_wallet_application: Ref { id: wallet.wallet_application_id },
        application_instance: wallet.application_instance_id.map(ApplicationInstanceView::new),
        status: wallet.status.as_str(),
        pairing_session,
        pairing_attempts: attempts
            .into_iter()
            .map(|a| PairingAttemptView { success: a.success, attempted_at: a.attempted_at })
            .collect(),
        device_data: wallet.device_data.as_deref().and_then(|d| serde_json::from_str(d).ok()),
        notification: NotificationReportView::of_kept(wallet.notification.as_deref(), wallet.user_id),
    }
}

/// Create a wallet for the user: `PAIRING_REQUIRED`, with its pairing session, and the
/// pairing link sent by `notification.methods`.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/users/{user_id}/digitalWallets",
    operation_id = "createDigitalWallet", request_body = CreateBody,
    responses((status = 201, description = "The new wallet.", body = WalletView)))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, Json<WalletView>)> {
    let mut errors = Collector::default();
    let application =
        errors.take(body.digital_wallet_application.ok_or_else(|| FieldError::required("digitalWalletApplication.id")));
    let instance = instance_id(&mut errors, body.application_instance);
    let notification = body.notification.map(|n| n.parse(&mut errors));
    let application = errors.finish_with(application)?;
    let created =
        state.credd.create_wallet(&caller, environment_id, user_id, application.id, instance, notification).await?;
    let details = WalletDetails {
        wallet: created.wallet,
        session: Some(created.session),
        attempts: Vec::new(),
        application: Some(created.application),
    };
    Ok((StatusCode::CREATED, Json(view(&state, details))))
}

/// List the user's wallets.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/digitalWallets",
    operation_id = "listDigitalWallets",
    params(ListQuery, ("filter" = Option<String>, Query,
        description = "SCIM (credd's addition): `status` and `digitalWalletApplication.id` eq; joined by `and`, `or`, parentheses.")),
    responses((status = 200, description = "A page of wallets.", body = Wallets)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Wallets>> {
    let (request, filter) = query.filtered_page::<DigitalWallet>(&uri)?;
    let page = state.credd.wallets(&caller, environment_id, user_id, filter.as_ref(), request).await?;
    Ok(Json(Wallets::page(&state.links, &uri, page, request, |d| d.wallet.id, |d| view(&state, d))))
}

/// Read a wallet, with its pairing attempts.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/digitalWallets/{wallet_id}",
    operation_id = "readDigitalWallet",
    responses((status = 200, description = "The wallet.", body = WalletView)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<Json<WalletView>> {
    let details = state.credd.wallet(&caller, environment_id, user_id, id).await?;
    Ok(Json(view(&state, details)))
}

/// The wallet's pairing `qrUrl` as a QR code (SVG), for a person to scan with the wallet
/// app, while the wallet waits for pairing.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/digitalWallets/{wallet_id}/pairingQr",
    operation_id = "readDigitalWalletPairingQr",
    responses(
        (status = 200, description = "The QR code of the wallet's `qrUrl`.", content_type = "image/svg+xml", body = String),
        (status = 404, description = "`NOT_FOUND`: no such wallet, or it is not waiting for pairing.",
            body = ErrorBody),
    ))]
async fn pairing_qr(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<impl IntoResponse> {
    let qr_url = state.credd.pairing_qr_url(&caller, environment_id, user_id, id).await?;
    let code = qrcode::QrCode::new(qr_url.as_bytes()).map_err(Error::internal)?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(256, 256).build();
    // The code is the pairing link, a capability: no cache keeps it.
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "no-store")], svg))
}

/// Update a wallet: `status` (`ACTIVE` or `DISABLED`) and/or `applicationInstance.id`
/// (while unset).
#[utoipa::path(put, path = "/v1/environments/{environment_id}/users/{user_id}/digitalWallets/{wallet_id}",
    operation_id = "updateDigitalWallet", request_body = UpdateBody,
    responses((status = 200, description = "The wallet.", body = WalletView)))]
async fn administer(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    Json(body): Json<UpdateBody>,
) -> Result<Json<WalletView>> {
    let mut errors = Collector::default();
    let status = body.status.as_deref().and_then(|s| {
        errors.take(
            WalletStatus::parse(s)
                .ok_or_else(|| FieldError::invalid("status", "status may be set only to ACTIVE or DISABLED.")),
        )
    });
    let instance = instance_id(&mut errors, body.application_instance);
    errors.finish_with(Some(()))?;
    let details = state.credd.administer_wallet(&caller, environment_id, user_id, id, status, instance).await?;
    Ok(Json(view(&state, details)))
}

/// Delete a wallet; the credentials provisioned to it are revoked.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/users/{user_id}/digitalWallets/{wallet_id}",
    operation_id = "deleteDigitalWallet", responses((status = 204, description = "Deleted.")))]
async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.delete_wallet(&caller, environment_id, user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_report_reads_back_as_it_was_answered() {
        let user_id = Uuid::new_v4();
        let answered = serde_json::json!({
            "methods": ["EMAIL", "SMS"],
            "template": { "locale": "en" },
            "results": [
                { "method": "EMAIL", "sent": true, "notification": { "id": Uuid::new_v4() } },
                { "method": "SMS", "sent": false, "error": {
                    "id": Uuid::new_v4(),
                    "code": "INVALID_DATA",
                    "message": "The request could not be completed. One or more validation errors were in the request.",
                    "details": [{ "code": "INVALID_VALUE", "message": format!("Could not find phone attribute for user {user_id}.") }],
                } },
            ],
        });
        // Kept as PingOne answered it, or as credd keeps it now: answered the same.
        let report = NotificationReport::from_kept(&answered.to_string()).unwrap();
        for kept in [answered.to_string(), serde_json::to_string(&report).unwrap()] {
            let view = NotificationReportView::of_kept(Some(&kept), user_id).unwrap();
            assert_eq!(serde_json::to_string(&view).unwrap(), answered.to_string());
        }
    }
}
