//! `/v1/environments/{envId}/digitalWalletApplications`.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use domain::validation::{Collector, FieldError};
use domain::wallet::{WalletApplication, WalletApplicationFields, app_open_url, wallet_application_name};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::extract::{Caller, Json, Path, Query};
use super::openapi;
use super::wire::{self, Links, ListQuery, Ref};
use crate::error::Result;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, replace, delete))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DigitalWalletApplicationRequest)]
pub(super) struct WalletApplicationBody {
    #[schema(required = true, nullable = false, value_type = Option<openapi::Text>)]
    name: Option<String>,
    /// The URL that opens the wallet app; pairing links are `appOpenUrl?u=<qrUrl>`.
    #[schema(
        required = true,
        nullable = false,
        pattern = r"^[A-Za-z][A-Za-z0-9+.-]*://[^/\s][^\s]*$",
        examples("https://credentials.customer.com")
    )]
    app_open_url: Option<String>,
    /// The (native) application the wallet app is; cannot change.
    #[schema(required = true, nullable = false)]
    application: Option<Ref>,
    /// `true` when left out.
    #[serde(rename = "usesPingOneWalletSDK")]
    uses_pingone_wallet_sdk: Option<bool>,
}

impl WalletApplicationBody {
    pub(super) fn parse(self) -> Result<WalletApplicationFields, Vec<FieldError>> {
        let mut errors = Collector::default();
        let name = errors
            .take(self.name.as_deref().ok_or_else(|| FieldError::required("name")).and_then(wallet_application_name));
        let url = errors.take(
            self.app_open_url.as_deref().ok_or_else(|| FieldError::required("appOpenUrl")).and_then(app_open_url),
        );
        let application = errors.take(self.application.ok_or_else(|| FieldError::required("application.id")));
        let fields =
            name.zip(url).zip(application).map(|((name, app_open_url), application)| WalletApplicationFields {
                application_id: application.id,
                name,
                app_open_url,
                uses_pingone_wallet_sdk: self.uses_pingone_wallet_sdk.unwrap_or(true),
            });
        errors.finish_with(fields)
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DigitalWalletApplication)]
pub(super) struct WalletApplicationView {
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
    name: String,
    application: Ref,
    app_open_url: String,
    #[serde(rename = "usesPingOneWalletSDK")]
    uses_pingone_wallet_sdk: bool,
}

wire::collection!(WalletApplications, "digitalWalletApplications", WalletApplicationView);

pub(super) fn view(links: &Links, application: WalletApplication) -> WalletApplicationView {
    let path = format!("/v1/environments/{}/digitalWalletApplications/{}", application.environment_id, application.id);
    WalletApplicationView {
        links: links.set([("self", &path), ("environment", &links.environment(application.environment_id))]),
        id: application.id,
        created_at: application.created_at,
        updated_at: application.updated_at,
        environment: Ref { id: application.environment_id },
        name: application.name,
        application: Ref { id: application.application_id },
        app_open_url: application.app_open_url,
        uses_pingone_wallet_sdk: application.uses_pingone_wallet_sdk,
    }
}

/// Register a wallet app.
#[utoipa::path(post, path = "/v1/environments/{environment_id}/digitalWalletApplications",
    operation_id = "createDigitalWalletApplication", request_body = WalletApplicationBody,
    responses((status = 201, description = "The new wallet application.", body = WalletApplicationView)))]
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    Json(body): Json<WalletApplicationBody>,
) -> Result<(StatusCode, Json<WalletApplicationView>)> {
    let fields = body.parse()?;
    let created = state.credd.create_wallet_application(&caller, environment_id, fields).await?;
    Ok((StatusCode::CREATED, Json(view(&state.links, created))))
}

/// List the environment's wallet applications.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/digitalWalletApplications",
    operation_id = "listDigitalWalletApplications",
    params(ListQuery, ("filter" = Option<String>, Query,
        description = "SCIM (credd's addition): `name` eq or sw; joined by `and`, `or`, parentheses.")),
    responses((status = 200, description = "A page of wallet applications.", body = WalletApplications)))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(environment_id): Path<Uuid>,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Json<WalletApplications>> {
    let (request, filter) = query.filtered_page::<WalletApplication>(&uri)?;
    let page = state.credd.wallet_applications(&caller, environment_id, filter.as_ref(), request).await?;
    Ok(Json(WalletApplications::page(&state.links, &uri, page, request, |a| a.id, |a| view(&state.links, a))))
}

/// Read a wallet application.
#[utoipa::path(get, path = "/v1/environments/{environment_id}/digitalWalletApplications/{application_id}",
    operation_id = "readDigitalWalletApplication",
    responses((status = 200, description = "The wallet application.", body = WalletApplicationView)))]
async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<Json<WalletApplicationView>> {
    Ok(Json(view(&state.links, state.credd.wallet_application(&caller, environment_id, id).await?)))
}

/// Replace a wallet application (`application.id` cannot change).
#[utoipa::path(put, path = "/v1/environments/{environment_id}/digitalWalletApplications/{application_id}",
    operation_id = "replaceDigitalWalletApplication", request_body = WalletApplicationBody,
    responses((status = 200, description = "The wallet application.", body = WalletApplicationView)))]
async fn replace(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<WalletApplicationBody>,
) -> Result<Json<WalletApplicationView>> {
    let fields = body.parse()?;
    Ok(Json(view(&state.links, state.credd.replace_wallet_application(&caller, environment_id, id, fields).await?)))
}

/// Delete a wallet application; its wallets are disabled.
#[utoipa::path(delete, path = "/v1/environments/{environment_id}/digitalWalletApplications/{application_id}",
    operation_id = "deleteDigitalWalletApplication", responses((status = 204, description = "Deleted.")))]
async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((environment_id, id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode> {
    state.credd.delete_wallet_application(&caller, environment_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
