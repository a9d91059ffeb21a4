//! Device credentials.

macro_rules! impl_credential_repository {
    ($store:ident, $db:ty) => {
      mod credential_repository {
        use async_trait::async_trait;
        use uuid::Uuid;

        use super::$store;
        use crate::{rows::now, DeviceCredentialRepository, StorageError, StoredCredential};

        async fn device_exists(
            executor: impl sqlx::Executor<'_, Database = $db>,
            device_id: Uuid,
        ) -> Result<bool, StorageError> {
            let count = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM devices WHERE id = $1")
                .bind(device_id)
                .fetch_one(executor)
                .await?;
            Ok(count > 0)
        }

        #[async_trait]
        impl DeviceCredentialRepository for $store {
            async fn replace_device_credential(
                &self,
                device_id: Uuid,
                credential_id: Uuid,
                secret_digest: &[u8],
            ) -> Result<(), StorageError> {
                let mut transaction = self.pool.begin().await?;
                if !device_exists(&mut *transaction, device_id).await? {
                    return Err(StorageError::NotFound);
                }
                let now = now();
                // Index: device_credentials_device.
                sqlx::query(
                    "UPDATE device_credentials SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL",
                )
                .bind(device_id)
                .bind(now)
                .execute(&mut *transaction)
                .await?;
                sqlx::query(
                    "INSERT INTO device_credentials (id, device_id, secret_sha256, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(credential_id)
                .bind(device_id)
                .bind(secret_digest)
                .bind(now)
                .execute(&mut *transaction)
                .await?;
                transaction.commit().await?;
                Ok(())
            }

            async fn revoke_device_credentials(&self, device_id: Uuid) -> Result<(), StorageError> {
                let mut transaction = self.pool.begin().await?;
                if !device_exists(&mut *transaction, device_id).await? {
                    return Err(StorageError::NotFound);
                }
                sqlx::query(
                    "UPDATE device_credentials SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL",
                )
                .bind(device_id)
                .bind(now())
                .execute(&mut *transaction)
                .await?;
                transaction.commit().await?;
                Ok(())
            }

            async fn device_credential(&self, credential_id: Uuid) -> Result<Option<StoredCredential>, StorageError> {
                // One round trip: the generation comes along for check-in's cache.
                let row = sqlx::query_as::<_, (Uuid, Vec<u8>, bool, i64)>(
                    "SELECT c.device_id, c.secret_sha256, c.revoked_at IS NOT NULL, g.value \
                     FROM device_credentials c CROSS JOIN state_generation g WHERE c.id = $1 AND g.id = 1",
                )
                .bind(credential_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(device_id, secret_digest, revoked, state_generation)| StoredCredential {
                    device_id,
                    secret_digest,
                    revoked,
                    state_generation,
                }))
            }
        }
      }
    };
}

pub(crate) use impl_credential_repository;
