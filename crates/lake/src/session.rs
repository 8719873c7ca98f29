//! Read-only query sessions pinned to a snapshot.
//!
//! A [`QuerySession`] registers every table of a snapshot once (each at its pinned
//! Delta version, each checked against the schema this release expects) and is then
//! cheap to clone per query: a server keeps one per snapshot. Queries are read-only
//! (DML, DDL, `COPY` and `SET`-style statements are refused) and their results can be
//! streamed.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Statistics;
use datafusion::datasource::TableType;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::projection::ProjectionExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::limit::GlobalLimitExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::prelude::{DataFrame, SQLOptions, SessionContext};
use futures::StreamExt;

use crate::columns::check_schema;
use crate::{
    Lake, LakeError, Result, Snapshot, Table, TableVersion, Zone, plain_strings, plain_type,
};

/// A read-only query session over one snapshot of a lake. Cheap to clone.
#[derive(Clone)]
pub struct QuerySession {
    lake: Lake,
    ctx: SessionContext,
    snapshot: Option<i64>,
    tables: Arc<Vec<TableVersion>>,
}

impl std::fmt::Debug for QuerySession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuerySession")
            .field("lake", &self.lake.root().as_str())
            .field("snapshot", &self.snapshot)
            .field("tables", &self.tables.len())
            .finish()
    }
}

impl Lake {
    /// A read-only session over the latest snapshot (for a lake without catalog: every
    /// table at its latest version). The catalog's `snapshots` table is registered too.
    pub async fn session(&self) -> Result<QuerySession> {
        self.session_at(None).await
    }

    /// A read-only session over snapshot `id`, or the latest one when `None`.
    pub async fn session_at(&self, id: Option<i64>) -> Result<QuerySession> {
        match id {
            Some(id) => {
                let s = self.snapshot_by_id(id).await?;
                self.session_for(&s).await
            }
            None => {
                let (id, tables) = self.current_tables().await?;
                QuerySession::build(self.clone(), id, tables).await
            }
        }
    }

    /// A read-only session over `snapshot`.
    pub async fn session_for(&self, snapshot: &Snapshot) -> Result<QuerySession> {
        QuerySession::build(self.clone(), Some(snapshot.id), snapshot.tables.clone()).await
    }

    /// A read-only session over the latest snapshot with only the tables of `zones`
    /// registered: what a stage reads (its inputs), without opening — or checking — the
    /// tables it is about to rewrite.
    pub async fn session_zones(&self, zones: &[Zone]) -> Result<QuerySession> {
        let (id, tables) = self.current_tables().await?;
        let tables = tables
            .into_iter()
            .filter(|t| zones.contains(&t.zone))
            .collect();
        QuerySession::build(self.clone(), id, tables).await
    }
}

impl QuerySession {
    /// A session with no table registered, on the lake's engine.
    pub(crate) fn empty(lake: Lake) -> Result<QuerySession> {
        Ok(QuerySession {
            ctx: lake.engine().context()?,
            lake,
            snapshot: None,
            tables: Arc::new(Vec::new()),
        })
    }

    /// Registers a scalar function (a stage's own logic, e.g. VADER) for this
    /// session's queries.
    pub fn register_udf(&self, udf: datafusion::logical_expr::ScalarUDF) {
        self.ctx.register_udf(udf);
    }

    async fn build(
        lake: Lake,
        snapshot: Option<i64>,
        mut tables: Vec<TableVersion>,
    ) -> Result<QuerySession> {
        tables.sort();
        let session = QuerySession {
            snapshot,
            tables: Arc::new(tables.clone()),
            ..QuerySession::empty(lake.clone())?
        };
        // Tables load in parallel; on a name clash across zones the later zone wins.
        let loaded: Vec<Table> = futures::stream::iter(tables.iter().map(|t| {
            let lake = lake.clone();
            async move { lake.table_at(t.zone, &t.name, t.version).await }
        }))
        .buffered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
        for t in &loaded {
            session.register(t, t.name()).await?;
        }
        if let Some(cat) = lake
            .table(Zone::Catalog, reviewlake_schema::catalog::SNAPSHOTS)
            .await?
        {
            session
                .register(&cat, reviewlake_schema::catalog::SNAPSHOTS)
                .await?;
        }
        Ok(session)
    }

    /// Registers `table` under `name`, after checking its columns against the schema
    /// this release expects for it.
    pub(crate) async fn register(&self, table: &Table, name: &str) -> Result<()> {
        if self.lake.engine().scheduler().is_some() {
            return self.register_files(table, name).await;
        }
        table
            .delta
            .update_datafusion_session(&self.ctx.state())
            .map_err(|e| crate::delta_err(table.zone, &table.name, e))?;
        let provider = table.delta.table_provider().await?;
        if let Some(expected) = reviewlake_schema::expected_schema(table.zone, table.name()) {
            check_schema(&table.label(), &expected, &provider.schema()).map_err(|e| {
                match (e, table.schema_version()) {
                    (LakeError::Column { table, column, expected, found }, Some(v))
                        if v < reviewlake_schema::SCHEMA_VERSION =>
                    {
                        LakeError::Column {
                            table,
                            column,
                            expected,
                            found: format!(
                                "{found} (written with schema version {v}: re-run the stage that writes it)"
                            ),
                        }
                    }
                    (e, _) => e,
                }
            })?;
        }
        let provider: Arc<dyn TableProvider> = Arc::new(LimitExact::new(provider));
        if self.ctx.table_exist(name)? {
            self.ctx.deregister_table(name)?;
        }
        self.ctx.register_table(name, provider)?;
        Ok(())
    }

    /// Registers `table` as a listing table of the Parquet files of its version: the
    /// form a Ballista cluster can read (scheduler and executors plan and read the
    /// files themselves; a Delta scan cannot be sent to them, delta-rs#4171).
    async fn register_files(&self, table: &Table, name: &str) -> Result<()> {
        use datafusion::datasource::file_format::parquet::ParquetFormat;
        use datafusion::datasource::listing::{
            ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
        };
        let schema = table.arrow_schema()?;
        if let Some(expected) = reviewlake_schema::expected_schema(table.zone, table.name()) {
            check_schema(&table.label(), &expected, &schema)?;
        }
        let root = self.lake.table_url(table.zone, &table.name);
        let files = table.parquet_files()?;
        let (paths, extension) = if files.is_empty() {
            // A listing table needs a path: the table's folder, with an extension no
            // file has, is an empty table.
            (
                vec![ListingTableUrl::parse(root.as_str())?],
                ".reviewlake-none",
            )
        } else {
            let mut paths = Vec::with_capacity(files.len());
            for f in &files {
                let url = root.join(f).map_err(|e| LakeError::Schema {
                    table: table.label(),
                    reason: format!("data file {f}: {e}"),
                })?;
                paths.push(ListingTableUrl::parse(url.as_str())?);
            }
            (paths, ".parquet")
        };
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(extension);
        let config = ListingTableConfig::new_with_multi_paths(paths)
            .with_listing_options(options)
            .with_schema(schema);
        let provider: Arc<dyn TableProvider> = Arc::new(ListingTable::try_new(config)?);
        if self.ctx.table_exist(name)? {
            self.ctx.deregister_table(name)?;
        }
        self.ctx.register_table(name, provider)?;
        Ok(())
    }

    /// Re-registers `zone/name` at its latest version: for a stage that reads the table
    /// it has just written (it holds the writer lease; nobody else writes).
    pub async fn refresh(&self, zone: Zone, name: &str) -> Result<()> {
        let t = self
            .lake
            .table(zone, name)
            .await?
            .ok_or_else(|| LakeError::Schema {
                table: format!("{zone}/{name}"),
                reason: "no such table".into(),
            })?;
        self.register(&t, name).await
    }

    /// The snapshot this session reads (`None` for a lake without catalog).
    pub fn snapshot_id(&self) -> Option<i64> {
        self.snapshot
    }

    /// The tables of the session's snapshot.
    pub fn tables(&self) -> &[TableVersion] {
        &self.tables
    }

    /// Whether a table called `name` is registered.
    pub fn has_table(&self, name: &str) -> bool {
        self.ctx.table_exist(name).unwrap_or(false)
    }

    /// Plans `sql` (read-only: DML, DDL, `COPY` and statements are refused with
    /// [`LakeError::ReadOnly`]).
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        tracing::debug!(sql, "planning");
        let state = self.ctx.state();
        let plan = state.create_logical_plan(sql).await?;
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|e| {
                LakeError::ReadOnly(format!(
                    "{}; queries cannot change the lake (the pipeline's stages write it)",
                    e.strip_backtrace()
                ))
            })?;
        Ok(self.ctx.execute_logical_plan(plan).await?)
    }

    /// Runs `sql` and streams its result (batches with plain strings).
    pub async fn stream(&self, sql: &str) -> Result<BatchStream> {
        let df = self.sql(sql).await?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        if self.lake.engine().scheduler().is_none() {
            let inner = df.execute_stream().await?;
            return Ok(BatchStream { inner, schema });
        }
        // On a cluster, a job whose gRPC connection broke before it returned anything
        // (a transport error: a reset or broken pipe) is submitted again, up to three
        // times; nothing of it has reached the caller, so nothing is repeated.
        let mut attempt = 0;
        loop {
            let plan = df.create_physical_plan().await?;
            let mut inner =
                datafusion::physical_plan::execute_stream(plan.clone(), Arc::new(df.task_ctx()))?;
            let first = match self.lake.engine().job_timeout() {
                None => inner.next().await,
                Some(limit) => match tokio::time::timeout(limit, inner.next()).await {
                    Ok(first) => first,
                    Err(_) => {
                        drop(inner);
                        let job = cancel_cluster_job(&plan, self.lake.engine().scheduler()).await;
                        return Err(LakeError::Engine(format!(
                            "the cluster job {job} returned nothing within the job time limit of {} s \
                             and was cancelled; nothing of this stage is published. A lost \
                             executor can leave a Ballista job running forever: check the \
                             executors (`cargo xtask cluster status`) and run the stage again",
                            limit.as_secs_f64()
                        )));
                    }
                },
            };
            match first {
                Some(Err(e)) if attempt < 3 && is_transport_error(&e) => {
                    attempt += 1;
                    tracing::warn!(attempt, error = %e, "cluster job lost its connection; submitting it again");
                    tokio::time::sleep(std::time::Duration::from_millis(500 * attempt)).await;
                }
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(first)) => {
                    let rest = futures::stream::once(async move { Ok(first) }).chain(inner);
                    let inner: SendableRecordBatchStream = Box::pin(
                        datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                            schema.clone(),
                            rest,
                        ),
                    );
                    return Ok(BatchStream { inner, schema });
                }
                None => {
                    let inner: SendableRecordBatchStream = Box::pin(
                        datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                            schema.clone(),
                            futures::stream::empty(),
                        ),
                    );
                    return Ok(BatchStream { inner, schema });
                }
            }
        }
    }

    /// Runs `sql` and collects its result (for small results).
    pub async fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let mut s = self.stream(sql).await?;
        let mut out = Vec::new();
        while let Some(b) = s.next().await {
            out.push(b?);
        }
        Ok(out)
    }
}

/// Asks the scheduler to cancel the Ballista job of `plan` (a query whose caller gave up
/// on it); returns how the job is named in messages.
async fn cancel_cluster_job(
    plan: &Arc<dyn ExecutionPlan>,
    scheduler: Option<&crate::Scheduler>,
) -> String {
    #[cfg(feature = "ballista")]
    {
        use ballista_core::execution_plans::DistributedQueryExec;
        use ballista_core::serde::protobuf::CancelJobParams;
        use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
        let job = plan
            .downcast_ref::<DistributedQueryExec<datafusion_proto::protobuf::LogicalPlanNode>>()
            .and_then(|d| d.job_id());
        if let (Some(job), Some(s)) = (job, scheduler) {
            let cancelled = match SchedulerGrpcClient::connect(s.grpc_url()).await {
                Ok(mut client) => client
                    .cancel_job(CancelJobParams {
                        job_id: job.to_string(),
                    })
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = cancelled {
                tracing::warn!(job = %job, error = %e, "could not cancel the cluster job");
            }
            return job.to_string();
        }
    }
    let _ = (plan, scheduler);
    "(no job id)".to_string()
}

/// Whether `e` is a broken connection to a cluster node rather than a failed plan.
fn is_transport_error(e: &datafusion::error::DataFusionError) -> bool {
    let m = e.to_string();
    m.contains("transport error") || m.contains("broken pipe") || m.contains("connection reset")
}

/// The batches of a query, as they come.
pub struct BatchStream {
    inner: SendableRecordBatchStream,
    schema: SchemaRef,
}

impl BatchStream {
    /// The result's schema as planned (string columns may come as plain strings).
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The next batch (strings as plain `Utf8`), `None` at the end.
    pub async fn next(&mut self) -> Option<Result<RecordBatch>> {
        match self.inner.next().await? {
            Ok(b) => Some(plain_strings(&b)),
            Err(e) => Some(Err(e.into())),
        }
    }
}

/// Wraps a Delta table provider so that `LIMIT` is always enforced: delta-rs 1.1's
/// metadata-only scans (`SELECT 1 FROM t LIMIT 2`) ignore the limit DataFusion pushes
/// into them (delta-rs#4037). A pushed limit gets an explicit limit node above the
/// scan. Writes are not supported (the trait's defaults refuse them).
///
/// It also reads plain strings: delta-rs's scan yields string views whatever the
/// session says, and a hash join whose build side holds view arrays keeps every data
/// buffer they point into, outside the memory pool (at 7M reviews a chain of joins over
/// `dim_business` grew past 20 GiB). The scan's view columns are cast to `Utf8` (and
/// `Binary`) right above it, as the listing tables of a cluster read them.
#[derive(Debug)]
struct LimitExact {
    inner: Arc<dyn TableProvider>,
    schema: SchemaRef,
}

impl LimitExact {
    fn new(inner: Arc<dyn TableProvider>) -> Self {
        let s = inner.schema();
        let fields: Vec<arrow_schema::Field> = s
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_data_type(plain_type(f.data_type())))
            .collect();
        let schema = Arc::new(arrow_schema::Schema::new_with_metadata(
            fields,
            s.metadata().clone(),
        ));
        Self { inner, schema }
    }
}

/// `plan` with its view columns cast to plain strings (itself when it has none).
fn plain_plan(plan: Arc<dyn ExecutionPlan>) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
    use datafusion::physical_expr::expressions::{CastExpr, Column};
    let schema = plan.schema();
    if schema
        .fields()
        .iter()
        .all(|f| plain_type(f.data_type()) == *f.data_type())
    {
        return Ok(plan);
    }
    let exprs: Vec<ProjectionExpr> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let column: Arc<dyn datafusion::physical_expr::PhysicalExpr> =
                Arc::new(Column::new(f.name(), i));
            let target = plain_type(f.data_type());
            let expr = if target == *f.data_type() {
                column
            } else {
                Arc::new(CastExpr::new(column, target, None))
            };
            ProjectionExpr::new(expr, f.name().clone())
        })
        .collect();
    Ok(Arc::new(ProjectionExec::try_new(exprs, plan)?))
}

#[async_trait]
impl TableProvider for LimitExact {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        self.inner.statistics()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        // A scan that needs no column becomes a scan of one narrow column whose values
        // are then dropped, so delta-rs plans an ordinary (limit-aware) Parquet scan.
        if limit.is_some() && projection.is_some_and(|p| p.is_empty()) {
            let schema = self.schema.clone();
            let narrow = schema
                .fields()
                .iter()
                .position(|f| f.data_type().is_primitive() || f.data_type().is_null())
                .unwrap_or(0);
            if !schema.fields().is_empty() {
                let plan = self
                    .inner
                    .scan(state, Some(&vec![narrow]), filters, limit)
                    .await?;
                let plan: Arc<dyn ExecutionPlan> =
                    Arc::new(ProjectionExec::try_new(Vec::<ProjectionExpr>::new(), plan)?);
                return Ok(match limit {
                    Some(n) => Arc::new(GlobalLimitExec::new(
                        Arc::new(CoalescePartitionsExec::new(plan)),
                        0,
                        Some(n),
                    )),
                    None => plan,
                });
            }
        }
        plain_plan(self.inner.scan(state, projection, filters, limit).await?)
    }
}
