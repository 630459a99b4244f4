// The SQLite catalog: alert transitions, operator actions, the audit log and the
// outbox, including atomicity and restart, on real SQLite files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "rules/catalog.h"
#include "tests/rules/catalog_test_util.h"

namespace tidewatch::rules {
namespace {

using catalog_test::Instance;
using catalog_test::MustOpen;
using catalog_test::TempDir;
using catalog_test::Transition;
using ::testing::HasSubstr;

class CatalogAlertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = MustOpen(dir_.File("c.db"));
    ASSERT_NE(catalog_, nullptr);
    StatusOr<RuleRecord> rule = catalog_->CreateRule({"hot", "plant", "{}", true});
    ASSERT_TRUE(rule.ok());
    rule_ = rule->id;
  }

  void Reopen() {
    catalog_.reset();
    catalog_ = MustOpen(dir_.File("c.db"));
    ASSERT_NE(catalog_, nullptr);
  }

  // "id:idempotency_key" of each claimed row, e.g. "1:a-fire 3:b-fire".
  std::string Claim(const std::string& channel, std::int64_t now, std::int64_t limit = 10,
                    std::int64_t lease_until = 1'000'000) {
    StatusOr<std::vector<OutboxEntry>> rows = catalog_->ClaimDue(channel, now, limit, lease_until);
    if (!rows.ok()) return rows.status().ToString();
    std::string out;
    for (const OutboxEntry& row : *rows) {
      if (!out.empty()) out += " ";
      out += row.idempotency_key;
      claimed_[row.idempotency_key] = row.id;
    }
    return out;
  }

  std::string Audit(const std::string& key) {
    StatusOr<std::vector<AuditEntry>> rows = catalog_->AuditForInstance(rule_, key, 100);
    if (!rows.ok()) return rows.status().ToString();
    std::string out;
    for (const AuditEntry& row : *rows) {
      if (!out.empty()) out += "; ";
      out += row.actor + " " + row.action + " " + row.from_state + "->" + row.to_state;
      if (!row.details.empty()) out += " (" + row.details + ")";
    }
    return out;
  }

  Status Fire(const std::string& key, const std::string& state, const std::string& from,
              std::int64_t time, std::vector<OutboxRow> outbox) {
    return catalog_->RecordTransition(Transition(Instance(rule_, key, state, time), from), outbox);
  }

  TempDir dir_;
  std::unique_ptr<Catalog> catalog_;
  std::int64_t rule_ = 0;
  std::map<std::string, std::int64_t> claimed_;  // idempotency key -> outbox id
};

TEST_F(CatalogAlertsTest, TransitionWritesInstanceAuditAndOutbox) {
  AlertInstanceRecord firing = Instance(rule_, "sensor=pt-001", "firing", 50);
  firing.active_since = 40;
  firing.pending_since = 30;
  firing.last_value = 12.5;
  firing.snapshot = R"({"level":"high"})";
  ASSERT_TRUE(
      catalog_
          ->RecordTransition(Transition(firing, "pending"),
                             std::vector<OutboxRow>{{"hook", "k1", "fire!"}, {"am", "k2", "fire!"}})
          .ok());
  StatusOr<std::vector<AlertInstanceRecord>> loaded = catalog_->LoadInstances();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0], firing);
  EXPECT_EQ(Audit("sensor=pt-001"), "engine transition pending->firing");

  StatusOr<std::vector<OutboxEntry>> rows = catalog_->ClaimDue("hook", 50, 10, 99);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  const OutboxEntry& row = (*rows)[0];
  EXPECT_EQ(row.rule_id, rule_);
  EXPECT_EQ(row.instance_key, "sensor=pt-001");
  EXPECT_EQ(row.ordering_key, std::to_string(rule_) + "/sensor=pt-001");
  EXPECT_EQ(row.sequence, 1);
  EXPECT_EQ(row.payload, "fire!");
  EXPECT_EQ(row.created_at, 50);
  EXPECT_EQ(row.attempts, 1);
  EXPECT_EQ(row.next_attempt_at, 99);
  EXPECT_EQ(Claim("am", 50), "k2");
  EXPECT_EQ(Claim("hook", 49), "");  // not due before the transition's time
}

TEST_F(CatalogAlertsTest, FailedTransitionLeavesNothing) {
  ASSERT_TRUE(Fire("a", "firing", "pending", 10, {{"hook", "a-fire", "p"}}).ok());
  // The instance update and the first outbox row succeed inside the transaction; the
  // second row breaks the idempotency key's uniqueness and must undo all of it.
  Status failed =
      Fire("a", "resolved", "firing", 20, {{"hook", "a-resolve", "p"}, {"hook", "a-fire", "p"}});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(failed.message(), "outbox idempotency key \"a-fire\" already exists");

  StatusOr<std::vector<AlertInstanceRecord>> loaded = catalog_->LoadInstances();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].state, "firing");
  EXPECT_EQ((*loaded)[0].last_change, 10);
  EXPECT_EQ(Audit("a"), "engine transition pending->firing");
  EXPECT_EQ(*catalog_->CountOutbox("hook"), (OutboxCounts{.pending = 1}));

  // The sequence numbers the failed batch reserved were rolled back too.
  ASSERT_TRUE(Fire("a", "resolved", "firing", 20, {{"hook", "a-resolve", "p"}}).ok());
  ASSERT_EQ(Claim("hook", 100), "a-fire");
  ASSERT_TRUE(catalog_->MarkDone(claimed_["a-fire"]).ok());
  StatusOr<std::vector<OutboxEntry>> next = catalog_->ClaimDue("hook", 100, 10, 200);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].sequence, 2);
}

TEST_F(CatalogAlertsTest, ABatchOfTransitionsCommitsTogether) {
  std::vector<TransitionWrite> batch(3);
  batch[0] = {Transition(Instance(rule_, "a", "firing", 10), "pending"), {{"hook", "a1", "p"}}};
  batch[1] = {Transition(Instance(rule_, "b", "firing", 11), "pending"), {{"hook", "b1", "p"}}};
  batch[2] = {Transition(Instance(rule_, "a", "inactive", 12), "firing"), {{"hook", "a2", "p"}}};
  ASSERT_TRUE(catalog_->RecordTransitions(batch).ok());
  StatusOr<std::vector<AlertInstanceRecord>> loaded = catalog_->LoadInstances();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].state, "inactive");  // the later write of "a" wins
  EXPECT_EQ(Audit("a"), "engine transition firing->inactive; engine transition pending->firing");
  EXPECT_EQ(*catalog_->CountOutbox("hook"), (OutboxCounts{.pending = 3}));
  EXPECT_EQ(Claim("hook", 100), "a1 b1");  // a2 waits for a1

  // One bad write (a key already used) undoes the whole batch.
  std::vector<TransitionWrite> bad(2);
  bad[0] = {Transition(Instance(rule_, "c", "firing", 20), "pending"), {{"hook", "c1", "p"}}};
  bad[1] = {Transition(Instance(rule_, "b", "inactive", 21), "firing"), {{"hook", "b1", "p"}}};
  Status failed = catalog_->RecordTransitions(bad);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.message(), "outbox idempotency key \"b1\" already exists");
  EXPECT_EQ(catalog_->LoadInstances()->size(), 2u);
  EXPECT_EQ(*catalog_->CountOutbox("hook"), (OutboxCounts{.pending = 3}));
  EXPECT_TRUE(catalog_->RecordTransitions({}).ok());
}

TEST_F(CatalogAlertsTest, TransitionOfAnUnknownRuleIsRefused) {
  Status s =
      catalog_->RecordTransition(Transition(Instance(rule_ + 7, "a", "firing", 1), "pending"),
                                 std::vector<OutboxRow>{{"hook", "k", "p"}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("rule " + std::to_string(rule_ + 7) + " does not exist"));
  EXPECT_TRUE(catalog_->LoadInstances()->empty());
  EXPECT_EQ(catalog_->CountOutbox("hook")->pending, 0);
  EXPECT_EQ(Fire("a", "", "pending", 1, {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Fire("a", "firing", "pending", 1, {{"", "k", "p"}}).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(CatalogAlertsTest, OperatorActionsRecordHistoryAndAudit) {
  ASSERT_TRUE(Fire("a", "firing", "pending", 10, {}).ok());
  OperatorActionRecord ack;
  ack.time = 20;
  ack.kind = OperatorActionKind::kAcknowledge;
  ack.user = "alice";
  ack.reason = "on it";
  ack.instance = Instance(rule_, "a", "firing", 10);
  ack.instance.ack_state = "acknowledged";
  ack.from_state = "firing";
  ASSERT_TRUE(catalog_->RecordOperatorAction(ack, {}).ok());

  OperatorActionRecord shelve = ack;
  shelve.time = 30;
  shelve.kind = OperatorActionKind::kShelve;
  shelve.user = "bob";
  shelve.reason = "maintenance";
  shelve.expires_at = 3600;
  shelve.instance.shelved_until = 3600;
  ASSERT_TRUE(catalog_->RecordOperatorAction(shelve, {}).ok());

  OperatorActionRecord unshelve = shelve;
  unshelve.time = 40;
  unshelve.kind = OperatorActionKind::kUnshelve;
  unshelve.expires_at.reset();
  unshelve.instance.shelved_until.reset();
  ASSERT_TRUE(
      catalog_->RecordOperatorAction(unshelve, std::vector<OutboxRow>{{"hook", "a-re", "p"}}).ok());

  EXPECT_EQ(Audit("a"),
            "bob unshelve firing->firing (maintenance); bob shelve firing->firing (maintenance); "
            "alice acknowledge firing->firing (on it); engine transition pending->firing");
  StatusOr<std::vector<OperatorActionEntry>> history =
      catalog_->OperatorActionsForInstance(rule_, "a", 2);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].kind, OperatorActionKind::kUnshelve);
  EXPECT_EQ((*history)[1].kind, OperatorActionKind::kShelve);
  EXPECT_EQ((*history)[1].user, "bob");
  EXPECT_EQ((*history)[1].expires_at, 3600);
  EXPECT_EQ((*history)[1].time, 30);
  EXPECT_EQ(catalog_->LoadInstances()->at(0), unshelve.instance);
  EXPECT_EQ(Claim("hook", 40), "a-re");

  OperatorActionRecord anonymous = ack;
  anonymous.user = "";
  EXPECT_EQ(catalog_->RecordOperatorAction(anonymous, {}).code(), StatusCode::kInvalidArgument);
  // Deleting the rule takes its instances and their history with it; the audit stays.
  ASSERT_TRUE(catalog_->DeleteRule("hot").ok());
  EXPECT_TRUE(catalog_->LoadInstances()->empty());
  EXPECT_TRUE(catalog_->OperatorActionsForInstance(rule_, "a", 10)->empty());
  EXPECT_EQ(catalog_->AuditForInstance(rule_, "a", 10)->size(), 4u);
}

TEST_F(CatalogAlertsTest, ResolveNeverOvertakesItsFiring) {
  ASSERT_TRUE(Fire("a", "firing", "pending", 1, {{"hook", "a-fire", "p"}}).ok());
  ASSERT_TRUE(Fire("b", "firing", "pending", 2, {{"hook", "b-fire", "p"}}).ok());
  ASSERT_TRUE(
      Fire("a", "resolved", "firing", 3, {{"hook", "a-resolve", "p"}, {"other", "a-other", "p"}})
          .ok());

  // a-resolve waits for a-fire; another channel does not wait for this one.
  EXPECT_EQ(Claim("hook", 10), "a-fire b-fire");
  EXPECT_EQ(Claim("other", 10), "a-other");
  EXPECT_EQ(Claim("hook", 10), "");  // leased: not handed out twice
  ASSERT_TRUE(catalog_->MarkDone(claimed_["b-fire"]).ok());
  EXPECT_EQ(Claim("hook", 10), "");  // a-fire still pending
  ASSERT_TRUE(catalog_->MarkDone(claimed_["a-fire"]).ok());
  EXPECT_EQ(Claim("hook", 10), "a-resolve");
  EXPECT_EQ(catalog_->MarkDone(claimed_["a-fire"]).code(), StatusCode::kNotFound);
  EXPECT_EQ(*catalog_->CountOutbox("hook"), (OutboxCounts{.pending = 1, .done = 2}));
}

TEST_F(CatalogAlertsTest, ClaimRespectsTheLimitAndTheLease) {
  for (int i = 0; i < 5; ++i) {
    const std::string key = "s" + std::to_string(i);
    ASSERT_TRUE(Fire(key, "firing", "pending", 1, {{"hook", key, "p"}}).ok());
  }
  EXPECT_EQ(Claim("hook", 10, 2, 100), "s0 s1");
  EXPECT_EQ(Claim("hook", 10, 2, 100), "s2 s3");
  // A sender that crashed never answers: its rows come back when the lease runs out.
  EXPECT_EQ(Claim("hook", 100, 10, 200), "s0 s1 s2 s3 s4");
  StatusOr<std::vector<OutboxEntry>> again = catalog_->ClaimDue("hook", 200, 1, 300);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].attempts, 3);
}

TEST_F(CatalogAlertsTest, FailedRowsRetryAtTheirTime) {
  ASSERT_TRUE(Fire("a", "firing", "pending", 1, {{"hook", "a-fire", "p"}}).ok());
  ASSERT_TRUE(Fire("a", "resolved", "firing", 2, {{"hook", "a-resolve", "p"}}).ok());
  ASSERT_EQ(Claim("hook", 10), "a-fire");
  ASSERT_TRUE(catalog_->MarkFailed(claimed_["a-fire"], "HTTP 503", 50).ok());
  EXPECT_EQ(Claim("hook", 49), "");  // neither the retry nor the resolve behind it
  StatusOr<std::vector<OutboxEntry>> retry = catalog_->ClaimDue("hook", 50, 10, 60);
  ASSERT_TRUE(retry.ok());
  ASSERT_EQ(retry->size(), 1u);
  EXPECT_EQ((*retry)[0].idempotency_key, "a-fire");
  EXPECT_EQ((*retry)[0].attempts, 2);
  EXPECT_EQ((*retry)[0].last_error, "HTTP 503");
  EXPECT_EQ(catalog_->MarkFailed(12345, "x", 1).code(), StatusCode::kNotFound);
}

TEST_F(CatalogAlertsTest, DeadRowsReleaseTheNextOne) {
  ASSERT_TRUE(Fire("a", "firing", "pending", 1, {{"hook", "a-fire", "p"}}).ok());
  ASSERT_TRUE(Fire("a", "resolved", "firing", 2, {{"hook", "a-resolve", "p"}}).ok());
  ASSERT_EQ(Claim("hook", 10), "a-fire");
  const std::int64_t id = claimed_["a-fire"];
  ASSERT_TRUE(catalog_->MarkFailed(id, "HTTP 404", 10).ok());
  ASSERT_TRUE(catalog_->MoveToDead(id, "permanent: HTTP 404", 11).ok());
  EXPECT_EQ(catalog_->MoveToDead(id, "again", 12).code(), StatusCode::kNotFound);
  EXPECT_EQ(catalog_->MarkDone(id).code(), StatusCode::kNotFound);
  EXPECT_EQ(*catalog_->CountOutbox("hook"), (OutboxCounts{.pending = 1, .dead = 1}));
  EXPECT_EQ(Claim("hook", 11), "a-resolve");
  ASSERT_TRUE(catalog_->MarkDone(claimed_["a-resolve"]).ok());

  EXPECT_EQ(*catalog_->CountOutbox("hook"), (OutboxCounts{.done = 1, .dead = 1}));
}

// The outbox's bookkeeping commits without an fsync; every transition after it must
// still be fsynced: each call puts synchronous back to FULL. (This guards the way back;
// that the calls skip the fsync shows in delivery_bench, docs/BENCHMARKS.md.)
TEST_F(CatalogAlertsTest, OutboxCallsLeaveTheConnectionFullySynced) {
  ASSERT_EQ(*catalog_->Synchronous(), 2);
  ASSERT_TRUE(Fire("a", "firing", "inactive", 1, {{"hook", "a-1", "p"}}).ok());
  ASSERT_TRUE(Fire("b", "firing", "inactive", 1, {{"hook", "b-1", "p"}}).ok());
  ASSERT_EQ(Claim("hook", 10), "a-1 b-1");
  EXPECT_EQ(*catalog_->Synchronous(), 2);
  ASSERT_TRUE(catalog_->MarkFailed(claimed_["a-1"], "HTTP 503", 20).ok());
  EXPECT_EQ(*catalog_->Synchronous(), 2);
  ASSERT_TRUE(catalog_->MoveToDead(claimed_["a-1"], "too old", 21).ok());
  EXPECT_EQ(*catalog_->Synchronous(), 2);
  ASSERT_TRUE(catalog_->MarkDone(claimed_["b-1"]).ok());
  EXPECT_EQ(*catalog_->Synchronous(), 2);
  EXPECT_EQ(catalog_->MarkDone(claimed_["b-1"]).code(), StatusCode::kNotFound);
  EXPECT_EQ(*catalog_->Synchronous(), 2);  // after a failed call too
  ASSERT_TRUE(catalog_->PruneDone(100, 100, 0, 10).ok());
  EXPECT_EQ(*catalog_->Synchronous(), 2);
  EXPECT_EQ(*catalog_->CountOutbox("hook"), (OutboxCounts{.done = 1, .dead = 1}));

  CatalogOptions normal;
  normal.durability = Durability::kNormal;
  StatusOr<std::unique_ptr<Catalog>> relaxed = Catalog::Open(dir_.File("n.db"), normal);
  ASSERT_TRUE(relaxed.ok());
  EXPECT_EQ(*(*relaxed)->Synchronous(), 1);
}

// Runs a whole prune pass in steps of `limit` rows; the steps it took.
std::vector<PruneStep> PrunePass(Catalog& catalog, std::int64_t before, std::int64_t now,
                                 std::int64_t limit) {
  std::vector<PruneStep> steps;
  std::int64_t after = 0;
  for (int i = 0; i < 100; ++i) {
    StatusOr<PruneStep> step = catalog.PruneDone(before, now, after, limit);
    if (!step.ok()) {
      ADD_FAILURE() << step.status().ToString();
      break;
    }
    steps.push_back(*step);
    after = step->next;
    if (step->finished) break;
  }
  return steps;
}

TEST_F(CatalogAlertsTest, PruneKeepsTheNewestRowOfEachLiveInstance) {
  // Ids 1..7: a-1 a-1/am a-2 a-2/am b-1 a-3 b-2, created at 1 1 2 2 3 4 9.
  ASSERT_TRUE(
      Fire("a", "firing", "inactive", 1, {{"hook", "a-1", "p"}, {"am", "a-1/am", "p"}}).ok());
  ASSERT_TRUE(
      Fire("a", "inactive", "firing", 2, {{"hook", "a-2", "p"}, {"am", "a-2/am", "p"}}).ok());
  ASSERT_TRUE(Fire("b", "firing", "inactive", 3, {{"hook", "b-1", "p"}}).ok());
  ASSERT_TRUE(Fire("a", "firing", "inactive", 4, {{"hook", "a-3", "p"}}).ok());
  ASSERT_TRUE(Fire("b", "inactive", "firing", 9, {{"hook", "b-2", "p"}}).ok());
  ASSERT_EQ(Claim("hook", 100), "a-1 b-1");
  for (const char* key : {"a-1", "b-1"}) ASSERT_TRUE(catalog_->MarkDone(claimed_[key]).ok());
  ASSERT_EQ(Claim("hook", 100), "a-2 b-2");
  for (const char* key : {"a-2", "b-2"}) ASSERT_TRUE(catalog_->MarkDone(claimed_[key]).ok());
  ASSERT_EQ(Claim("am", 100), "a-1/am");
  ASSERT_TRUE(catalog_->MarkDone(claimed_["a-1/am"]).ok());
  // Done: a-1 a-1/am a-2 b-1 b-2; pending: a-2/am a-3.

  // Before 5, two rows a step: a-1 and a-1/am go (newer rows of their instance follow,
  // pending ones count); a-2 goes, a-2/am is pending; b-1 goes, a-3 is pending; b-2,
  // created at 9, ends the pass.
  EXPECT_THAT(PrunePass(*catalog_, 5, 100, 2),
              ::testing::ElementsAre(PruneStep{2, 2, false}, PruneStep{1, 4, false},
                                     PruneStep{1, 6, false}, PruneStep{0, 6, true}));
  EXPECT_EQ(*catalog_->CountOutbox("hook"), (OutboxCounts{.pending = 1, .done = 1}));
  EXPECT_EQ(*catalog_->CountOutbox("am"), (OutboxCounts{.pending = 1}));

  // However old, b-2 is b's newest row on hook, what a restart re-announces: it stays.
  ASSERT_EQ(Claim("hook", 100), "a-3");
  ASSERT_TRUE(catalog_->MarkDone(claimed_["a-3"]).ok());
  EXPECT_THAT(PrunePass(*catalog_, 100, 100, 100), ::testing::ElementsAre(PruneStep{0, 7, true}));
  EXPECT_EQ(*catalog_->CountOutbox("hook"), (OutboxCounts{.done = 2}));
  // Once the instances are gone (their rule deleted), nothing of theirs is kept.
  ASSERT_TRUE(catalog_->DeleteRule("hot").ok());
  EXPECT_THAT(PrunePass(*catalog_, 100, 100, 100), ::testing::ElementsAre(PruneStep{2, 7, true}));
  EXPECT_EQ(*catalog_->CountOutbox("hook"), OutboxCounts{});
}

TEST_F(CatalogAlertsTest, APassEndsAtTheFirstRecentRowButNotAtOneFromTheFuture) {
  // Ids 1..6 of one instance, created at 1, 10^15 (a clock far ahead), 2, 3, 50, 4.
  const std::int64_t times[] = {1, 1'000'000'000'000'000, 2, 3, 50, 4};
  for (int i = 0; i < 6; ++i) {
    const std::string key = "a-" + std::to_string(i + 1);
    ASSERT_TRUE(Fire("a", i % 2 == 0 ? "firing" : "inactive", i % 2 == 0 ? "inactive" : "firing",
                     times[i], {{"hook", key, "p"}})
                    .ok());
    ASSERT_EQ(Claim("hook", 1'000'000'000'000'001), key);
    ASSERT_TRUE(catalog_->MarkDone(claimed_[key]).ok());
  }
  // Before 10, now 100: a-1, a-3 and a-4 go; a-2 is not old; a-5 (created at 50) ends
  // the pass, so a-6 waits for the next one.
  EXPECT_THAT(PrunePass(*catalog_, 10, 100, 10), ::testing::ElementsAre(PruneStep{3, 4, true}));
  EXPECT_EQ(*catalog_->CountOutbox("hook"), (OutboxCounts{.done = 3}));
}

TEST_F(CatalogAlertsTest, RestartReloadsStateAndPendingNotifications) {
  AlertInstanceRecord pending = Instance(rule_, "b", "pending", 5);
  pending.pending_since = 5;
  AlertInstanceRecord shelved = Instance(rule_, "a", "firing", 7);
  shelved.shelved_until = 1000;
  shelved.shelve_one_shot = true;
  shelved.suppressed = true;
  shelved.out_of_service = true;
  ASSERT_TRUE(catalog_->RecordTransition(Transition(pending, "inactive"), {}).ok());
  ASSERT_TRUE(catalog_
                  ->RecordTransition(Transition(shelved, "pending"),
                                     std::vector<OutboxRow>{{"hook", "a-fire", "payload"}})
                  .ok());
  ASSERT_EQ(Claim("hook", 10, 10, 20), "a-fire");  // in flight when the process dies

  Reopen();
  StatusOr<std::vector<AlertInstanceRecord>> loaded = catalog_->LoadInstances();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, (std::vector<AlertInstanceRecord>{shelved, pending}));
  EXPECT_EQ(Claim("hook", 19), "");
  StatusOr<std::vector<OutboxEntry>> resent = catalog_->ClaimDue("hook", 20, 10, 30);
  ASSERT_TRUE(resent.ok());
  ASSERT_EQ(resent->size(), 1u);
  EXPECT_EQ((*resent)[0].idempotency_key, "a-fire");  // the same key after the restart
  EXPECT_EQ((*resent)[0].payload, "payload");
}

TEST_F(CatalogAlertsTest, PendingChannelsAndMovingAChannelToDead) {
  ASSERT_TRUE(Fire("a", "firing", "inactive", 10, {{"ghost", "a-fire", "{}"}, {"hook", "a-h", "{}"}})
                  .ok());
  ASSERT_TRUE(Fire("a", "inactive", "firing", 20, {{"ghost", "a-res", "{}"}}).ok());
  EXPECT_THAT(*catalog_->PendingChannels(), ::testing::ElementsAre("ghost", "hook"));

  StatusOr<std::int64_t> moved = catalog_->MoveChannelToDead("ghost", "no channel", 30);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(*moved, 2);
  EXPECT_EQ(*catalog_->CountOutbox("ghost"), (OutboxCounts{.pending = 0, .done = 0, .dead = 2}));
  EXPECT_EQ(*catalog_->CountOutbox("hook"), (OutboxCounts{.pending = 1, .done = 0, .dead = 0}));
  EXPECT_THAT(*catalog_->PendingChannels(), ::testing::ElementsAre("hook"));
  EXPECT_EQ(*catalog_->MoveChannelToDead("ghost", "no channel", 40), 0);
}

TEST_F(CatalogAlertsTest, ReleaseLeasesMakesLeasedAndBackedOffRowsDue) {
  ASSERT_TRUE(Fire("a", "firing", "inactive", 10, {{"hook", "a-1", "{}"}}).ok());
  ASSERT_TRUE(Fire("b", "firing", "inactive", 10, {{"hook", "b-1", "{}"}}).ok());
  ASSERT_TRUE(Fire("c", "firing", "inactive", 10, {{"hook", "c-1", "{}"}}).ok());
  ASSERT_EQ(Claim("hook", 100, 2, /*lease_until=*/1'000'000), "a-1 b-1");
  ASSERT_TRUE(catalog_->MarkFailed(claimed_["b-1"], "503", 500'000).ok());
  EXPECT_EQ(Claim("hook", 200), "c-1");  // a-1 leased, b-1 backing off

  StatusOr<std::int64_t> released = catalog_->ReleaseLeases(300);
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(*released, 3);
  EXPECT_EQ(Claim("hook", 300), "a-1 b-1 c-1");
  EXPECT_EQ(Claim("hook", 400), "");  // leased again by that claim
  ASSERT_TRUE(catalog_->MarkDone(claimed_["a-1"]).ok());
  EXPECT_EQ(*catalog_->ReleaseLeases(400), 2);  // done rows stay done
}

TEST_F(CatalogAlertsTest, LatestPerInstanceIsTheNewestRowOfEachLiveInstance) {
  ASSERT_TRUE(Fire("a", "firing", "inactive", 10, {{"am", "a-1", "fire a"}}).ok());
  ASSERT_TRUE(Fire("b", "firing", "inactive", 11, {{"am", "b-1", "fire b"}}).ok());
  ASSERT_TRUE(Fire("a", "inactive", "firing", 12, {{"am", "a-2", "resolve a"}}).ok());
  ASSERT_TRUE(Fire("c", "firing", "inactive", 13, {{"other", "c-1", "fire c"}}).ok());
  ASSERT_EQ(Claim("am", 100), "a-1 b-1");
  ASSERT_TRUE(catalog_->MarkDone(claimed_["a-1"]).ok());  // done rows count too

  StatusOr<std::vector<OutboxEntry>> latest = catalog_->LatestPerInstance("am");
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  std::vector<std::string> payloads;
  for (const OutboxEntry& row : *latest) payloads.push_back(row.payload);
  EXPECT_THAT(payloads, ::testing::ElementsAre("fire b", "resolve a"));

  // b resolves, and the resolve goes to the dead letters: b's delivered firing is not
  // what the channel was last told, so b is left out.
  ASSERT_TRUE(catalog_->MarkDone(claimed_["b-1"]).ok());
  ASSERT_TRUE(Fire("b", "inactive", "firing", 14, {{"am", "b-2", "resolve b"}}).ok());
  ASSERT_EQ(Claim("am", 100), "a-2 b-2");
  ASSERT_TRUE(catalog_->MoveToDead(claimed_["b-2"], "too old", 15).ok());
  latest = catalog_->LatestPerInstance("am");
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  payloads.clear();
  for (const OutboxEntry& row : *latest) payloads.push_back(row.payload);
  EXPECT_THAT(payloads, ::testing::ElementsAre("resolve a"));

  // A deleted rule's instances are gone: nothing of theirs is re-announced.
  ASSERT_TRUE(catalog_->DeleteRule("hot").ok());
  EXPECT_TRUE(catalog_->LatestPerInstance("am")->empty());
}

}  // namespace
}  // namespace tidewatch::rules
