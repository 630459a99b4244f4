// Catalog::Open and the definitions: rules, continuous queries, channels.
// Alert state and the outbox are in catalog_alerts.cc and catalog_outbox.cc.
#include "rules/catalog.h"

#include <chrono>
#include <string>
#include <utility>

#include "rules/catalog_statements.h"
#include "rules/internal/sqlite_db.h"

namespace tidewatch::rules {

using internal::SqliteCursor;
using internal::SqliteDb;

namespace {

RuleRecord ReadRule(const SqliteCursor& c) {
  return RuleRecord{.id = c.Int(0),
                    .name = c.Text(1),
                    .db = c.Text(2),
                    .definition = c.Text(3),
                    .enabled = c.Bool(4),
                    .source = c.Text(8),
                    .version = c.Int(5),
                    .created_at = c.Int(6),
                    .updated_at = c.Int(7)};
}

ContinuousQueryRecord ReadContinuousQuery(const SqliteCursor& c) {
  return ContinuousQueryRecord{
      .db = c.Text(0), .name = c.Text(1), .text = c.Text(2), .created_at = c.Int(3)};
}

// The CHECK constraint admits only known kinds; anything else means a damaged file.
StatusOr<ChannelRecord> ReadChannel(const SqliteCursor& c) {
  std::string kind = c.Text(1);
  std::optional<ChannelKind> parsed = ParseChannelKind(kind);
  if (!parsed.has_value()) {
    return Status(StatusCode::kDataLoss,
                  "channel \"" + c.Text(0) + "\" has unknown kind \"" + kind + "\"");
  }
  return ChannelRecord{.name = c.Text(0),
                       .kind = *parsed,
                       .config = c.Text(2),
                       .created_at = c.Int(3),
                       .updated_at = c.Int(4),
                       .source = c.Text(5)};
}

std::string Quoted(std::string_view what, std::string_view name) {
  return std::string(what) + " \"" + std::string(name) + "\"";
}

Status RequireName(std::string_view what, std::string_view name) {
  if (!name.empty()) return Status::Ok();
  return Status(StatusCode::kInvalidArgument, std::string(what) + " name must not be empty");
}

Status Configure(SqliteDb& db, const CatalogOptions& options) {
  // PRAGMAs take no bound parameters; these values are our own integers and keywords.
  if (Status s = db.Exec("PRAGMA busy_timeout = " + std::to_string(options.busy_timeout.count()));
      !s.ok()) {
    return s;
  }
  // The first statement that reads the file: garbage fails here as "file is not a
  // database" (kDataLoss).
  StatusOr<std::string> mode = db.QueryText("PRAGMA journal_mode = WAL");
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") {
    return Status(StatusCode::kInternal,
                  "catalog " + db.path() + ": cannot enable WAL (journal mode is " + *mode + ")");
  }
  StatusOr<std::string> check = db.QueryText("PRAGMA quick_check");
  if (!check.ok()) return check.status();
  if (*check != "ok") {
    return Status(StatusCode::kDataLoss,
                  "catalog " + db.path() + ": integrity check failed: " + *check);
  }
  const char* sync = options.durability == Durability::kFull ? "PRAGMA synchronous = FULL"
                                                             : "PRAGMA synchronous = NORMAL";
  if (Status s = db.Exec(sync); !s.ok()) return s;
  return db.Exec("PRAGMA foreign_keys = ON");
}

}  // namespace

using internal::ExplainConstraint;
using internal::Found;
using internal::RequireChange;
using internal::Unwrap;

std::string_view ChannelKindName(ChannelKind kind) {
  switch (kind) {
    case ChannelKind::kWebhook:
      return "webhook";
    case ChannelKind::kAlertmanager:
      return "alertmanager";
    case ChannelKind::kKafka:
      return "kafka";
  }
  return "webhook";
}

std::optional<ChannelKind> ParseChannelKind(std::string_view name) {
  for (ChannelKind kind :
       {ChannelKind::kWebhook, ChannelKind::kAlertmanager, ChannelKind::kKafka}) {
    if (ChannelKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

StatusOr<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path, CatalogOptions options) {
  StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open(path);
  if (!db.ok()) return db.status();
  if (Status s = Configure(**db, options); !s.ok()) return s;
  if (Status s = internal::MigrateCatalog(**db, options.migrations); !s.ok()) return s;
  StatusOr<std::unique_ptr<internal::CatalogStatements>> statements =
      internal::PrepareCatalogStatements(**db);
  if (!statements.ok()) return statements.status();
  return std::unique_ptr<Catalog>(
      new Catalog(std::move(*db), std::move(*statements), std::move(options)));
}

Catalog::Catalog(std::unique_ptr<SqliteDb> db,
                 std::unique_ptr<internal::CatalogStatements> statements, CatalogOptions options)
    : options_(std::move(options)), db_(std::move(db)), statements_(std::move(statements)) {}

Catalog::~Catalog() = default;

std::int64_t Catalog::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StatusOr<std::int64_t> Catalog::SchemaVersion() {
  std::lock_guard lock(mu_);
  return db_->QueryInt("PRAGMA user_version");
}

StatusOr<std::int64_t> Catalog::Synchronous() {
  std::lock_guard lock(mu_);
  return db_->QueryInt("PRAGMA synchronous");
}

// ---- rules ----

StatusOr<RuleRecord> Catalog::CreateRule(const RuleSpec& spec) {
  if (Status s = RequireName("rule", spec.name); !s.ok()) return s;
  std::lock_guard lock(mu_);
  auto row = statements_->insert_rule.QueryOne(ReadRule, spec.name, spec.db, spec.definition,
                                               spec.enabled, Now(), spec.source);
  if (!row.ok()) return ExplainConstraint(*db_, row.status(), Quoted("rule", spec.name));
  return Found(std::move(row), Quoted("rule", spec.name));
}

StatusOr<RuleRecord> Catalog::UpdateRule(const RuleSpec& spec) {
  std::lock_guard lock(mu_);
  return Found(statements_->update_rule.QueryOne(ReadRule, spec.name, spec.db, spec.definition,
                                                 spec.enabled, Now(), spec.source),
               Quoted("rule", spec.name));
}

StatusOr<RuleRecord> Catalog::SetRuleEnabled(std::string_view name, bool enabled) {
  std::lock_guard lock(mu_);
  return Found(statements_->set_rule_enabled.QueryOne(ReadRule, name, enabled, Now()),
               Quoted("rule", name));
}

StatusOr<RuleRecord> Catalog::GetRule(std::string_view name) {
  std::lock_guard lock(mu_);
  return Found(statements_->get_rule.QueryOne(ReadRule, name), Quoted("rule", name));
}

StatusOr<std::vector<RuleRecord>> Catalog::ListRules() {
  std::lock_guard lock(mu_);
  return statements_->list_rules.QueryAll(ReadRule);
}

Status Catalog::DeleteRule(std::string_view name) {
  std::lock_guard lock(mu_);
  return RequireChange(*db_, statements_->delete_rule.Run(name),
                       Quoted("rule", name) + " does not exist");
}

// ---- continuous queries ----

namespace {
std::string CqName(std::string_view db, std::string_view name) {
  return Quoted("continuous query", name) + " on database \"" + std::string(db) + "\"";
}
}  // namespace

StatusOr<ContinuousQueryRecord> Catalog::CreateContinuousQuery(std::string_view db,
                                                               std::string_view name,
                                                               std::string_view text) {
  if (Status s = RequireName("continuous query", name); !s.ok()) return s;
  if (Status s = RequireName("database", db); !s.ok()) return s;
  std::lock_guard lock(mu_);
  auto row = statements_->insert_cq.QueryOne(ReadContinuousQuery, db, name, text, Now());
  if (!row.ok()) return ExplainConstraint(*db_, row.status(), CqName(db, name));
  return Found(std::move(row), CqName(db, name));
}

StatusOr<ContinuousQueryRecord> Catalog::GetContinuousQuery(std::string_view db,
                                                            std::string_view name) {
  std::lock_guard lock(mu_);
  return Found(statements_->get_cq.QueryOne(ReadContinuousQuery, db, name), CqName(db, name));
}

StatusOr<std::vector<ContinuousQueryRecord>> Catalog::ListContinuousQueries() {
  std::lock_guard lock(mu_);
  return statements_->list_cqs.QueryAll(ReadContinuousQuery);
}

Status Catalog::DeleteContinuousQuery(std::string_view db, std::string_view name) {
  std::lock_guard lock(mu_);
  return RequireChange(*db_, statements_->delete_cq.Run(db, name),
                       CqName(db, name) + " does not exist");
}

// ---- channels ----

StatusOr<ChannelRecord> Catalog::CreateChannel(const ChannelSpec& spec) {
  if (Status s = RequireName("channel", spec.name); !s.ok()) return s;
  std::lock_guard lock(mu_);
  auto row = statements_->insert_channel.QueryOne(ReadChannel, spec.name,
                                                  ChannelKindName(spec.kind), spec.config, Now(),
                                                  spec.source);
  if (!row.ok()) return ExplainConstraint(*db_, row.status(), Quoted("channel", spec.name));
  return Found(std::move(row), Quoted("channel", spec.name));
}

StatusOr<ChannelRecord> Catalog::UpdateChannel(const ChannelSpec& spec) {
  std::lock_guard lock(mu_);
  return Found(statements_->update_channel.QueryOne(ReadChannel, spec.name,
                                                    ChannelKindName(spec.kind), spec.config, Now(),
                                                    spec.source),
               Quoted("channel", spec.name));
}

StatusOr<ChannelRecord> Catalog::GetChannel(std::string_view name) {
  std::lock_guard lock(mu_);
  return Found(statements_->get_channel.QueryOne(ReadChannel, name), Quoted("channel", name));
}

StatusOr<std::vector<ChannelRecord>> Catalog::ListChannels() {
  std::lock_guard lock(mu_);
  return Unwrap(statements_->list_channels.QueryAll(ReadChannel));
}

Status Catalog::DeleteChannel(std::string_view name) {
  std::lock_guard lock(mu_);
  return RequireChange(*db_, statements_->delete_channel.Run(name),
                       Quoted("channel", name) + " does not exist");
}

}  // namespace tidewatch::rules
