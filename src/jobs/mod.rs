//! Background work: the worker loop, the job kinds it runs, and the pruning of
//! finished work (retention).

mod retention;
pub mod worker;

use std::future::Future;

use domain::job::ClaimedJob;
use uuid::Uuid;

use crate::service::Credd;
use crate::service::notifications::SEND_NOTIFICATION;
use crate::service::user_credentials::{DELIVER_CREDENTIAL, EXPIRE_CREDENTIAL, PROVISION_PENDING, PURGE_MAILBOX};
use crate::service::wallets::EXPIRE_PAIRING_SESSION;

pub use worker::Worker;

/// Runs one claimed job. Must be idempotent: a job may run again after a crash or an
/// expired lease. An `Err` is retried with backoff until the attempts run out.
pub trait JobHandler: Send + Sync + 'static {
    fn run(&self, job: ClaimedJob) -> impl Future<Output = Result<(), String>> + Send;
}

/// The job kinds credd knows, each a service call whose payload is a record id (a
/// credential delivery's is its sealed claims). A
/// job of a kind this version does not know fails (and ends dead with that reason)
/// rather than vanishing.
pub struct Jobs {
    pub credd: Credd,
}

impl JobHandler for Jobs {
    async fn run(&self, job: ClaimedJob) -> Result<(), String> {
        if job.kind == DELIVER_CREDENTIAL {
            return self.credd.deliver_credential(&job).await;
        }
        let id = Uuid::from_slice(&job.payload).map_err(|_| "the payload is not a record id".to_owned())?;
        match job.kind.as_str() {
            SEND_NOTIFICATION => self.credd.deliver_notification(id, job.attempt >= job.max_attempts).await,
            EXPIRE_PAIRING_SESSION => self.credd.expire_pairing_session(id).await,
            PROVISION_PENDING => self.credd.provision_pending(id).await,
            EXPIRE_CREDENTIAL => self.credd.expire_credential(id).await,
            PURGE_MAILBOX => self.credd.purge_mailbox(id).await,
            other => Err(format!("unknown job kind {other:?}")),
        }
    }
}
