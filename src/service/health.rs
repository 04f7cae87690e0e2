//! Whether this instance can serve: for `/readyz`.

use domain::Store;

use super::Credd;

impl Credd {
    /// Ok when the database answers and has applied every migration this binary
    /// knows; otherwise why not, fit to show an operator (no secrets in it).
    pub async fn readiness(&self) -> Result<(), String> {
        self.store.ping().await.map_err(|e| format!("the database does not answer: {e}"))?;
        let pending =
            self.store.pending_migrations().await.map_err(|e| format!("cannot read the applied migrations: {e}"))?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(format!("migrations not applied yet: {pending:?} (run `credd migrate` or `sqlx migrate run`)"))
        }
    }
}
