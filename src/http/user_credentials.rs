//! `/v1/environments/{envId}/users/{userId}/credentials`, their provisioned copies,
//! and the wallet-facing mailbox at `/v1/distributedid/wallets/{walletId}/credentials`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use domain::credential::{ProvisionedCredential, UserCredential, WalletAction};
use domain::time::Timestamp;
use domain::validation::{Collector, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::extract::{Caller, Json, Path, Query, bearer_token, parse_json};
use super::openapi;
use super::wallets::{NotificationBody, NotificationReportView};
use super::wire::{self, LinkSet, ListQuery, Ref};
use crate::error::{Error, Result};
use crate::service::user_credentials::{CredentialRequest, ProvisionedOf, ProvisionedWithActions};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const REVOKE: &str = "application/vnd.pingidentity.validations.revokeCredential+json";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, revoke))
        .routes(routes!(provisioned_of_credential))
        .routes(routes!(provisioned_in_wallet))
        .routes(routes!(mailbox))
        .routes(routes!(act))
}

/// The body of a create or an update (PUT resends everything).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserCredentialRequest)]
struct CredentialBody {
    /// Cannot change on update.
    #[schema(required = true, nullable = false)]
    credential_type: Option<Ref>,
    /// Claim values by field title. Builds the credential and is then gone: never
    /// answered, logged or stored in plaintext. Needs an `ACTIVE` wallet of the user.
    data: Option<BTreeMap<String, String>>,
    /// In the past: the credential is `REVOKED` at once. Years 0001 to 9999.
    #[schema(value_type = Option<openapi::Timestamp>)]
    #[serde(default, deserialize_with = "wire::optional_timestamp")]
    expires_at: Option<domain::time::Timestamp>,
    /// Sends `credential_issued` (or `credential_updated`).
    notification: Option<NotificationBody>,
    /// Immutable: on update it may only be resent as it was.
    demo_data_storage: Option<DemoDataStorageBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DemoDataStorageRequest)]
struct DemoDataStorageBody {
    store_until_issued: Option<bool>,
}

impl CredentialBody {
    fn parse(self) -> Result<CredentialRequest> {
        let mut errors = Collector::default();
        let credential_type =
            errors.take(self.credential_type.ok_or_else(|| FieldError::required("credentialType.id")));
        let notification = self.notification.map(|n| n.parse(&mut errors));
        let credential_type = errors.finish_with(credential_type)?;
        Ok(CredentialRequest {
            credential_type_id: credential_type.id,
            data: self.data,
            expires_at: self.expires_at,
            notification,
            store_until_issued: self.demo_data_storage.and_then(|d| d.store_until_issued),
        })
    }
}

/// A user credential (never its `data`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserCredential)]
struct CredentialView {
    #[serde(rename = "_links")]
    links: LinkSet,
    id: Uuid,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: Timestamp,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    updated_at: Timestamp,
    environment: Ref,
    user: Ref,
    credential_type: CredentialTypeVersion,
    title: String,
    #[schema(value_type = openapi::CredentialStatus)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<openapi::Timestamp>)]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<NotificationReportView>,
    /// Shown when `storeUntilIssued` was sent `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    demo_data_storage: Option<DemoDataStorage>,
}

/// The credential type and the version the credential was built from.
#[derive(Serialize, ToSchema)]
#[schema(as = UserCredentialType)]
struct CredentialTypeVersion {
    id: Uuid,
    version: VersionOf,
}

#[derive(Serialize, ToSchema)]
#[schema(as = UserCredentialTypeVersion)]
struct VersionOf {
    number: i64,
    uri: String,
    /// Left out for credentials made before credd kept versions.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DemoDataStorage {
    store_until_issued: bool,
    /// Always `false`: credd keeps a credential's `data` only sealed inside the delivery
    /// to a paired wallet, never as the credential's stored data.
    has_data: bool,
}

wire::collection!(UserCredentials, "items", CredentialView);

fn view(state: &AppState, credential: UserCredential) -> CredentialView {
    let (env, user) = (credential.environment_id, credential.user_id);
    let user_path = format!("/v1/environments/{env}/users/{user}");
    let type_path = format!("/v1/environments/{env}/credentialTypes/{}", credential.credential_type_id);
    let version_path = credential.type_version_id.map(|v| format!("{type_path}/versions/{v}"));
    let mut links = state.links.set([
        ("self", &format!("{user_path}/credentials/{}", credential.id)),
        ("environment", &state.links.environment(env)),
        ("user", &user_path),
        ("credentialType", &type_path),
    ]);
    if let Some(version_path) = &version_path {
        links.insert("credentialTypeVersion", state.links.link(version_path));
    }
    let type_uri = state.credd.credential_type_uri(credential.credential_type_id);
    CredentialView {
        links,
        id: credential.id,
        created_at: credential.created_at,
        updated_at: credential.updated_at,
        environment: Ref { id: env },
        user: Ref { id: user },
        credential_type: CredentialTypeVersion {
            id: credential.credential_type_id,
            version: VersionOf {
                number: credential.type_version,
                uri: format!("{type_uri}/v{}", credential.type_version),
                id: credential.type_version_id,
            },
        },
        demo_data_storage: credential
            .store_until_issued
            .then_some(DemoDataStorage { store_until_issued: true, has_data: false }),
        title: credential.title,
        status: credential.status.as_str(),
        expires_at: credential.expires_at.as_ref().map(wire::format_timestamp),
        notification: NotificationReportView::of_kept(credential.notification.as_deref(), user),
    }
}

/// Create a credential for the user; with `data` it is delivered to each of the user's
/// `ACTIVE` wallets, without it waits `PENDING` for one. `data` is never answered.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/users/{user_id}/credentials",
    operation_id = "createUserCredential", request_body = CredentialBody,
    responses((status = 201, description = "The new credential.", body = CredentialView)))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<CredentialBody>,
) -> Result<(StatusCode, Json<CredentialView>)> {
    let credential = state.credd.create_user_credential(&caller, environment_id, user_id, body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(view(&state, credential))))
}

/// Update a credential: everything is sent again, and every active wallet gets the new one.
#[utoipa::path(put, path = "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}",
    operation_id = "updateUserCredential", request_body = CredentialBody,
    responses((status = 200, description = "The credential.", body = CredentialView)))]
async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    Json(body): Json<CredentialBody>,
) -> Result<Json<CredentialView>> {
    let credential = state.credd.update_user_credential(&caller, environment_id, user_id, id, body.parse()?).await?;
    Ok(Json(view(&state, credential)))
}

/// List the user's credentials.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/credentials",
    operation_id = "listUserCredentials",
    params(ListQuery, ("filter" = Option<String>, Query,
        description = "SCIM (credd's addition): `status` and `credentialType.id` eq; joined by `and`, `or`, parentheses.")),
    responses((status = 200, description = "A page of credentials.", body = UserCredentials)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id)): Path<(Uuid, Uuid)>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<UserCredentials>> {
    let (request, filter) = query.filtered_page::<UserCredential>(&uri)?;
    let page = state.credd.user_credentials(&caller, environment_id, user_id, filter.as_ref(), request).await?;
    Ok(Json(UserCredentials::page(&state.links, &uri, page, request, |c| c.id, |c| view(&state, c))))
}

/// Read a credential.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}",
    operation_id = "readUserCredential",
    responses((status = 200, description = "The credential.", body = CredentialView)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<Json<CredentialView>> {
    Ok(Json(view(&state, state.credd.user_credential(&caller, environment_id, user_id, id).await?)))
}

/// Revoke a credential: `POST` with the revoke media type (the body is ignored).
#[utoipa::path(post, path = "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}",
    operation_id = "revokeUserCredential",
    request_body(content = Object, content_type = "application/vnd.pingidentity.validations.revokeCredential+json",
        description = "Any JSON object; credd reads only the media type."),
    responses((status = 200, description = "The revoked credential.", body = CredentialView)))]
async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    headers: HeaderMap,
) -> Result<Json<CredentialView>> {
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !media.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case(REVOKE) {
        return Err(Error::UnsupportedMediaType(format!("Content-Type must be {REVOKE}.")));
    }
    Ok(Json(view(&state, state.credd.revoke_user_credential(&caller, environment_id, user_id, id).await?)))
}

/// The credential's copy in one wallet, with what the wallet did with it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ProvisionedCredential)]
struct ProvisionedView {
    id: Uuid,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    created_at: Timestamp,
    environment: Ref,
    user: Ref,
    credential: Ref,
    digital_wallet: Ref,
    #[schema(value_type = openapi::ProvisionStatus)]
    status: &'static str,
    #[schema(value_type = Option<openapi::Timestamp>)]
    expires_at: Option<String>,
    claim_reference: ClaimReference,
    wallet_actions: Vec<WalletActionView>,
    /// Why the last delivery failed; cleared by a later success.
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_error: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct ClaimReference {
    id: Uuid,
    /// The environment's `did:web`.
    issuer: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WalletActionRecord)]
struct WalletActionView {
    #[schema(value_type = openapi::WalletAction)]
    action: &'static str,
    #[serde(serialize_with = "wire::timestamp")]
    #[schema(value_type = openapi::Timestamp)]
    occurred_at: Timestamp,
}

/// Every copy of one credential, or every copy in one wallet.
#[derive(Serialize, ToSchema)]
struct ProvisionedCredentials {
    #[serde(rename = "_embedded")]
    embedded: EmbeddedProvisionedCredentials,
    size: usize,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct EmbeddedProvisionedCredentials {
    provisioned_credentials: Vec<ProvisionedView>,
}

fn provisioned_view(state: &AppState, copy: ProvisionedWithActions) -> ProvisionedView {
    let ProvisionedWithActions { provisioned: p, actions } = copy;
    ProvisionedView {
        id: p.id,
        created_at: p.created_at,
        environment: Ref { id: p.environment_id },
        user: Ref { id: p.user_id },
        credential: Ref { id: p.credential_id },
        digital_wallet: Ref { id: p.wallet_id },
        status: p.status.as_str(),
        expires_at: p.expires_at.as_ref().map(wire::format_timestamp),
        claim_reference: ClaimReference { id: p.id, issuer: state.credd.issuer_did(p.environment_id) },
        wallet_actions: actions
            .into_iter()
            .map(|a| WalletActionView { action: a.action.as_str(), occurred_at: a.occurred_at })
            .collect(),
        delivery_error: p.delivery_error,
    }
}

fn provisioned_collection(state: &AppState, copies: Vec<ProvisionedWithActions>) -> ProvisionedCredentials {
    let provisioned_credentials: Vec<ProvisionedView> =
        copies.into_iter().map(|c| provisioned_view(state, c)).collect();
    ProvisionedCredentials {
        size: provisioned_credentials.len(),
        embedded: EmbeddedProvisionedCredentials { provisioned_credentials },
    }
}

/// List the copies of a credential, one per wallet, with their wallet actions.
#[utoipa::path(get,
    path = "/v1/environments/{environment_id}/users/{user_id}/credentials/{credential_id}/provisionedCredentials",
    operation_id = "listProvisionedCredentialsOfCredential", params(("filter" = Option<String>, Query, description = "SCIM: `status` eq.")),
    responses((status = 200, description = "The copies.", body = ProvisionedCredentials)))]
async fn provisioned_of_credential(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    Query(query): Query<ListQuery>,
) -> Result<Json<ProvisionedCredentials>> {
    let filter = query.unpaged::<ProvisionedCredential>()?;
    let of = ProvisionedOf::Credential(id);
    let items = state.credd.provisioned_credentials(&caller, environment_id, user_id, of, filter.as_ref()).await?;
    Ok(Json(provisioned_collection(&state, items)))
}

/// List the credential copies in a wallet.
#[utoipa::path(get,
    path = "/v1/environments/{environment_id}/users/{user_id}/digitalWallets/{wallet_id}/provisionedCredentials",
    operation_id = "listProvisionedCredentialsInWallet", params(("filter" = Option<String>, Query, description = "SCIM: `status` eq.")),
    responses((status = 200, description = "The copies.", body = ProvisionedCredentials)))]
async fn provisioned_in_wallet(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, user_id, id)): Path<(Uuid, Uuid, Uuid)>,
    Query(query): Query<ListQuery>,
) -> Result<Json<ProvisionedCredentials>> {
    let filter = query.unpaged::<ProvisionedCredential>()?;
    let of = ProvisionedOf::Wallet(id);
    let items = state.credd.provisioned_credentials(&caller, environment_id, user_id, of, filter.as_ref()).await?;
    Ok(Json(provisioned_collection(&state, items)))
}

fn wallet_token(headers: &HeaderMap) -> Result<&str> {
    bearer_token(headers).ok_or(Error::Unauthorized("A wallet access token is required."))
}

/// An offered credential: a JWT VC (EdDSA) whose issuer is the environment's `did:web`;
/// `_links.action` is where the wallet answers.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MailboxEntry)]
struct MailboxEntryView {
    #[serde(rename = "_links")]
    links: LinkSet,
    id: Uuid,
    credential: Ref,
    #[schema(value_type = openapi::ProvisionStatus)]
    status: &'static str,
    credential_jwt: String,
}

wire::collection!(Mailbox, "credentials", MailboxEntryView);

/// The wallet's mailbox: offered credentials with their signed JWT VC, oldest first,
/// a page at a time.
#[utoipa::path(get, path = "/v1/distributedid/wallets/{wallet_id}/credentials", operation_id = "readWalletMailbox",
    tag = "Wallet mailbox", security(("walletToken" = [])), params(ListQuery),
    responses((status = 200, description = "The offered credentials.", body = Mailbox)))]
async fn mailbox(
    State(state): State<AppState>,
    Path(wallet_id): Path<Uuid>,
    Query(query): Query<ListQuery>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<Mailbox>> {
    let request = query.page(&uri)?;
    let entries = state.credd.mailbox(wallet_id, wallet_token(&headers)?, request).await?;
    Ok(Json(Mailbox::page(
        &state.links,
        &uri,
        entries,
        request,
        |e| e.provisioned.id,
        |e| {
            let p = e.provisioned;
            MailboxEntryView {
                links: state
                    .links
                    .set([("action", &format!("/v1/distributedid/wallets/{wallet_id}/credentials/{}", p.id))]),
                id: p.id,
                credential: Ref { id: p.credential_id },
                status: p.status.as_str(),
                credential_jwt: e.credential_jwt,
            }
        },
    )))
}

/// The wallet's answer to an offered credential.
#[derive(Deserialize, ToSchema)]
#[schema(as = WalletActionRequest)]
struct ActionBody {
    /// `ACCEPT`, `REJECT` or `DELETE`.
    #[schema(required = true, nullable = false, value_type = Option<String>, examples("ACCEPT", "REJECT", "DELETE"))]
    action: Option<String>,
}

/// The copy after the wallet's action.
#[derive(Serialize, ToSchema)]
#[schema(as = ActedOn)]
struct ActedOnView {
    id: Uuid,
    #[schema(value_type = openapi::ProvisionStatus)]
    status: &'static str,
}

impl ActionBody {
    fn parse(self) -> Result<WalletAction> {
        let action = self.action.ok_or_else(|| Error::invalid(FieldError::required("action")))?;
        let action = match action.as_str() {
            "ACCEPT" => WalletAction::Accepted,
            "REJECT" => WalletAction::Rejected,
            "DELETE" => WalletAction::Deleted,
            _ => return Err(Error::invalid(FieldError::invalid("action", "action must be ACCEPT, REJECT or DELETE."))),
        };
        Ok(action)
    }
}

/// Accept, reject or delete an offered credential; the mailbox copy is wiped.
#[utoipa::path(post, path = "/v1/distributedid/wallets/{wallet_id}/credentials/{provisioned_id}",
    operation_id = "actOnWalletCredential", tag = "Wallet mailbox", security(("walletToken" = [])),
    request_body = ActionBody,
    responses((status = 200, description = "The copy's new status.", body = ActedOnView)))]
async fn act(
    State(state): State<AppState>,
    Path((wallet_id, provisioned_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ActedOnView>> {
    let token = wallet_token(&headers)?;
    let action = parse_json::<ActionBody>(&body)?.parse()?;
    let copy = state.credd.act_on_credential(wallet_id, token, provisioned_id, action).await?;
    Ok(Json(ActedOnView { id: copy.id, status: copy.status.as_str() }))
}
