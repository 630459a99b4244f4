// Catalog: alert instance state, operator actions and the audit log. Each write is one
// transaction together with the outbox rows it causes (guarantee 4 of ARCHITECTURE.md).
#include <sqlite3.h>

#include <string>

#include "rules/catalog.h"
#include "rules/catalog_statements.h"
#include "rules/internal/sqlite_db.h"

namespace tidewatch::rules {

using internal::SqliteCursor;
using internal::SqliteTransaction;

namespace {

constexpr OperatorActionKind kOperatorActionKinds[] = {
    OperatorActionKind::kAcknowledge, OperatorActionKind::kShelve, OperatorActionKind::kUnshelve};

AlertInstanceRecord ReadInstance(const SqliteCursor& c) {
  return AlertInstanceRecord{.rule_id = c.Int(0),
                             .instance_key = c.Text(1),
                             .state = c.Text(2),
                             .ack_state = c.Text(3),
                             .severity = static_cast<std::int32_t>(c.Int(4)),
                             .active_since = c.OptInt(5),
                             .pending_since = c.OptInt(6),
                             .last_value = c.OptDouble(7),
                             .last_change = c.Int(8),
                             .shelved_until = c.OptInt(9),
                             .shelve_one_shot = c.Bool(10),
                             .suppressed = c.Bool(11),
                             .out_of_service = c.Bool(12),
                             .snapshot = c.Text(13)};
}

AuditEntry ReadAudit(const SqliteCursor& c) {
  return AuditEntry{.id = c.Int(0),
                    .time = c.Int(1),
                    .rule_id = c.Int(2),
                    .instance_key = c.Text(3),
                    .actor = c.Text(4),
                    .action = c.Text(5),
                    .from_state = c.Text(6),
                    .to_state = c.Text(7),
                    .details = c.Text(8)};
}

// The CHECK constraint admits only known actions; anything else means a damaged file.
StatusOr<OperatorActionEntry> ReadOperatorAction(const SqliteCursor& c) {
  std::string action = c.Text(2);
  for (OperatorActionKind kind : kOperatorActionKinds) {
    if (OperatorActionName(kind) != action) continue;
    return OperatorActionEntry{.id = c.Int(0),
                               .time = c.Int(1),
                               .kind = kind,
                               .user = c.Text(3),
                               .reason = c.Text(4),
                               .expires_at = c.OptInt(5)};
  }
  return Status(StatusCode::kDataLoss, "operator action " + std::to_string(c.Int(0)) +
                                           " has unknown action \"" + action + "\"");
}

Status ValidateInstance(const AlertInstanceRecord& instance, std::span<const OutboxRow> outbox) {
  if (instance.state.empty()) {
    return Status(StatusCode::kInvalidArgument, "alert instance state must not be empty");
  }
  for (const OutboxRow& row : outbox) {
    if (row.channel.empty() || row.idempotency_key.empty()) {
      return Status(StatusCode::kInvalidArgument,
                    "outbox row needs a channel and an idempotency key");
    }
  }
  return Status::Ok();
}

std::string InstanceName(const AlertInstanceRecord& instance) {
  return "alert instance {" + instance.instance_key + "} of rule " +
         std::to_string(instance.rule_id);
}

}  // namespace

std::string_view OperatorActionName(OperatorActionKind kind) {
  switch (kind) {
    case OperatorActionKind::kAcknowledge:
      return "acknowledge";
    case OperatorActionKind::kShelve:
      return "shelve";
    case OperatorActionKind::kUnshelve:
      return "unshelve";
  }
  return "acknowledge";
}

Status Catalog::WriteInstance(const AlertInstanceRecord& instance, std::int64_t time,
                              std::string_view actor, std::string_view action,
                              std::string_view from_state, std::string_view details,
                              std::span<const OutboxRow> outbox) {
  internal::CatalogStatements& st = *statements_;
  Status s = st.upsert_instance.Run(
      instance.rule_id, instance.instance_key, instance.state, instance.ack_state,
      std::int64_t{instance.severity}, instance.active_since, instance.pending_since,
      instance.last_value, instance.last_change, instance.shelved_until, instance.shelve_one_shot,
      instance.suppressed, instance.out_of_service, instance.snapshot);
  if (!s.ok()) {
    if (db_->last_extended_code() == SQLITE_CONSTRAINT_FOREIGNKEY) {
      return Status(StatusCode::kInvalidArgument, InstanceName(instance) + ": rule " +
                                                      std::to_string(instance.rule_id) +
                                                      " does not exist");
    }
    return s;
  }
  s = st.insert_audit.Run(time, instance.rule_id, instance.instance_key, actor, action, from_state,
                          instance.state, details);
  if (!s.ok() || outbox.empty()) return s;

  // Reserve sequence numbers first..last for this batch in the instance row, so they
  // keep increasing even after done rows are pruned.
  const auto count = static_cast<std::int64_t>(outbox.size());
  StatusOr<std::optional<std::int64_t>> last =
      st.bump_sequence.QueryOne([](const SqliteCursor& c) { return c.Int(0); }, instance.rule_id,
                                instance.instance_key, count);
  if (!last.ok()) return last.status();
  if (!last->has_value()) {
    return Status(StatusCode::kInternal,
                  InstanceName(instance) + " vanished inside its transaction");
  }
  std::int64_t sequence = **last - count;
  const std::string ordering_key = std::to_string(instance.rule_id) + "/" + instance.instance_key;
  for (const OutboxRow& row : outbox) {
    s = st.insert_outbox.Run(row.channel, instance.rule_id, instance.instance_key, ordering_key,
                             ++sequence, row.idempotency_key, row.payload, time);
    if (!s.ok()) {
      return internal::ExplainConstraint(*db_, s,
                                         "outbox idempotency key \"" + row.idempotency_key + "\"");
    }
  }
  return Status::Ok();
}

Status Catalog::RecordTransition(const TransitionRecord& transition,
                                 std::span<const OutboxRow> outbox) {
  if (Status s = ValidateInstance(transition.instance, outbox); !s.ok()) return s;
  std::lock_guard lock(mu_);
  if (Status s = RestoreFullSync(); !s.ok()) return s;
  SqliteTransaction tx(*db_);
  if (Status s = tx.Begin(); !s.ok()) return s;
  if (Status s = WriteInstance(transition.instance, transition.time, transition.actor, "transition",
                               transition.from_state, transition.details, outbox);
      !s.ok()) {
    return s;
  }
  return tx.Commit();
}

Status Catalog::RecordTransitions(std::span<const TransitionWrite> writes) {
  for (const TransitionWrite& write : writes) {
    if (Status s = ValidateInstance(write.transition.instance, write.outbox); !s.ok()) return s;
  }
  if (writes.empty()) return Status();
  std::lock_guard lock(mu_);
  if (Status s = RestoreFullSync(); !s.ok()) return s;
  SqliteTransaction tx(*db_);
  if (Status s = tx.Begin(); !s.ok()) return s;
  for (const TransitionWrite& write : writes) {
    const TransitionRecord& t = write.transition;
    if (Status s = WriteInstance(t.instance, t.time, t.actor, "transition", t.from_state, t.details,
                                 write.outbox);
        !s.ok()) {
      return s;
    }
  }
  return tx.Commit();
}

Status Catalog::RecordOperatorAction(const OperatorActionRecord& action,
                                     std::span<const OutboxRow> outbox) {
  if (Status s = ValidateInstance(action.instance, outbox); !s.ok()) return s;
  if (action.user.empty()) {
    return Status(StatusCode::kInvalidArgument, "an operator action needs a user");
  }
  const std::string_view name = OperatorActionName(action.kind);
  std::lock_guard lock(mu_);
  if (Status s = RestoreFullSync(); !s.ok()) return s;
  SqliteTransaction tx(*db_);
  if (Status s = tx.Begin(); !s.ok()) return s;
  if (Status s = WriteInstance(action.instance, action.time, action.user, name, action.from_state,
                               action.reason, outbox);
      !s.ok()) {
    return s;
  }
  if (Status s = statements_->insert_operator_action.Run(
          action.instance.rule_id, action.instance.instance_key, action.time, name, action.user,
          action.reason, action.expires_at);
      !s.ok()) {
    return s;
  }
  return tx.Commit();
}

StatusOr<std::vector<AlertInstanceRecord>> Catalog::LoadInstances() {
  std::lock_guard lock(mu_);
  return statements_->load_instances.QueryAll(ReadInstance);
}

StatusOr<std::vector<AuditEntry>> Catalog::AuditForInstance(std::int64_t rule_id,
                                                            std::string_view instance_key,
                                                            std::int64_t limit) {
  std::lock_guard lock(mu_);
  return statements_->audit_for_instance.QueryAll(ReadAudit, rule_id, instance_key, limit);
}

StatusOr<std::vector<OperatorActionEntry>> Catalog::OperatorActionsForInstance(
    std::int64_t rule_id, std::string_view instance_key, std::int64_t limit) {
  std::lock_guard lock(mu_);
  return internal::Unwrap(statements_->operator_actions_for_instance.QueryAll(
      ReadOperatorAction, rule_id, instance_key, limit));
}

}  // namespace tidewatch::rules
