//! `/v1/environments/{envId}/users/{userId}/digitalWallets`.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use domain::notification::{NotifyMethod, normalize_variant};
use domain::user::Locale;
use domain::validation::{Collector, FieldError};
use domain::wallet::{WalletStatus, application_instance_id};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::AppState;
use super::extract::{Caller, Json, Path, Query};
use super::wire::{self, ListQuery, Ref};
use crate::error::Result;
use crate::service::notifications::NotificationRequest;
use crate::service::wallets::WalletDetails;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/environments/{environment_id}/users/{user_id}/digitalWallets", get(list).post(create))
        .route(
            "/v1/environments/{environment_id}/users/{user_id}/digitalWallets/{wallet_id}",
            get(read).put(administer).delete(delete),
        )
}

/// `notification` as requests send it.
#[derive(Deserialize)]
pub struct NotificationBody {
    methods: Option<Vec<String>>,
    template: Option<TemplateBody>,
}

#[derive(Deserialize)]
struct TemplateBody {
    locale: Option<String>,
    variant: Option<String>,
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
        NotificationRequest { methods, locale, variant, variables }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    digital_wallet_application: Option<Ref>,
    application_instance: Option<InstanceBody>,
    notification: Option<NotificationBody>,
}

#[derive(Deserialize)]
struct InstanceBody {
    id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateBody {
    status: Option<String>,
    application_instance: Option<InstanceBody>,
}

fn instance_id(errors: &mut Collector, body: Option<InstanceBody>) -> Option<String> {
    body.and_then(|i| i.id).and_then(|id| errors.take(application_instance_id("applicationInstance.id", &id)))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WalletView {
    #[serde(rename = "_links")]
    links: Value,
    id: Uuid,
    #[serde(serialize_with = "wire::timestamp")]
    created_at: domain::time::Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    updated_at: domain::time::Timestamp,
    environment: Ref,
    user: Ref,
    digital_wallet_application: Ref,
    #[serde(skip_serializing_if = "Option::is_none")]
    application_instance: Option<Value>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pairing_session: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pairing_attempts: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<Value>,
}

fn parse_stored_json(text: Option<&str>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

fn view(state: &AppState, details: WalletDetails) -> WalletView {
    let credd = &state.credd;
    let WalletDetails { wallet, session, attempts, application } = details;
    let path =
        format!("/v1/environments/{}/users/{}/digitalWallets/{}", wallet.environment_id, wallet.user_id, wallet.id);
    let mut links = json!({ "self": state.links.link(&path) });
    let pairing_session = session.map(|session| {
        let qr_url = credd.qr_url(&session);
        links["qrUrl"] = json!({ "href": qr_url });
        if let Some(application) = &application {
            links["appOpen"] = json!({ "href": credd.app_open_url(application, &session) });
        }
        json!({
            "id": session.id,
            "createdAt": wire::format_timestamp(&session.created_at),
            "updatedAt": wire::format_timestamp(&session.updated_at),
            "environment": { "id": session.environment_id },
            "user": { "id": session.user_id },
            "digitalWallet": { "id": session.wallet_id },
            "challenge": session.challenge,
            "qrUrl": qr_url,
            "status": session.status.as_str(),
            "expiresAt": wire::format_timestamp(&session.expires_at),
        })
    });
    WalletView {
        links,
        id: wallet.id,
        created_at: wallet.created_at,
        updated_at: wallet.updated_at,
        environment: Ref { id: wallet.environment_id },
        user: Ref { id: wallet.user_id },
        digital_wallet_application: Ref { id: wallet.wallet_application_id },
        application_instance: wallet.application_instance_id.map(|id| json!({ "id": id })),
        status: wallet.status.as_str(),
        pairing_session,
        pairing_attempts: attempts
            .iter()
            .map(|a| json!({ "success": a.success, "attemptedAt": wire::format_timestamp(&a.attempted_at) }))
            .collect(),
        device_data: parse_stored_json(wallet.device_data.as_deref()),
        notification: parse_stored_json(wallet.notification.as_deref()),
    }
}

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

async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>> {
    let request = query.page()?;
    let page = state.credd.wallets(&caller, environment_id, user_id, request).await?;
    Ok(Json(wire::collection(
        &state.links,
        &uri,
        "digitalWallets",
        page,
        request,
        |d| d.wallet.id,
        |d| view(&state, d),
    )))
}

async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<Json<WalletView>> {
    let details = state.credd.wallet(&caller, environment_id, user_id, id).await?;
    Ok(Json(view(&state, details)))
}

/// `status` (`ACTIVE` or `DISABLED`) and/or `applicationInstance.id` (while unset).
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

async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.delete_wallet(&caller, environment_id, user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
