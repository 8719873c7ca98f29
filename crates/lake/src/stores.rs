//! Object stores for engines that read the lake's files themselves (a Ballista
//! scheduler and its executors): every `s3://` bucket gets a store built from the
//! lake's storage options on first use; local files need none.

use std::sync::Arc;

use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use object_store::ObjectStore;
use url::Url;

use crate::LakeOptions;

/// A registry that builds the store of each `s3://`/`s3a://` bucket on first use from
/// `options` (endpoint, credentials: the `AWS_*` variables by default), and serves
/// `file://` from the local file system. Only `lake` knows credentials: a cluster
/// node gets its stores from here.
pub fn object_store_registry(options: LakeOptions) -> Arc<dyn ObjectStoreRegistry> {
    Arc::new(LakeStores {
        inner: DefaultObjectStoreRegistry::new(),
        options,
    })
}

#[derive(Debug)]
struct LakeStores {
    inner: DefaultObjectStoreRegistry,
    options: LakeOptions,
}

impl ObjectStoreRegistry for LakeStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.inner.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        self.inner.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.inner.get_store(url) {
            return Ok(store);
        }
        match url.scheme() {
            "s3" | "s3a" => {
                let bucket = url.host_str().unwrap_or_default();
                let base = Url::parse(&format!("{}://{bucket}", url.scheme()))
                    .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
                let store = crate::source::s3_store(&base, &self.options)
                    .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
                self.inner.register_store(&base, store.clone());
                Ok(store)
            }
            _ => self.inner.get_store(url),
        }
    }
}
