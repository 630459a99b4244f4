// The SQLite catalog: opening, migrations, definitions CRUD and failure modes, on real
// SQLite files in a temporary directory. Alert state and the outbox are tested in
// catalog_outbox_test.cc.
#include "rules/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/rules/catalog_test_util.h"

namespace tidewatch::rules {
namespace {

using catalog_test::MustOpen;
using catalog_test::TempDir;
using ::testing::HasSubstr;

// A raw connection, for what the Catalog API does not expose.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  ~RawDb() { sqlite3_close(db_); }

  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  // The first column of the first row, as text ("" when there is none).
  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return "<error>";
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text != nullptr) out = reinterpret_cast<const char*>(text);
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

CatalogOptions FakeClock(std::int64_t* now) {
  CatalogOptions options;
  options.clock = [now] { return *now; };
  return options;
}

TEST(CatalogTest, CreatesWalFileAtNewestVersion) {
  TempDir dir;
  auto catalog = MustOpen(dir.File("catalog.db"));
  ASSERT_NE(catalog, nullptr);
  StatusOr<std::int64_t> version = catalog->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, static_cast<std::int64_t>(CatalogMigrations().size()));
  RawDb raw(dir.File("catalog.db"));
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
  EXPECT_TRUE(std::filesystem::exists(dir.File("catalog.db-wal")));
}

TEST(CatalogTest, RulesKeepWhoManagesThem) {
  TempDir dir;
  auto catalog = MustOpen(dir.File("c.db"));
  ASSERT_NE(catalog, nullptr);
  ASSERT_TRUE(catalog->CreateRule({"from-api", "plant", "{}", true}).ok());
  RuleSpec file_rule{"from-file", "plant", "{}", true, "file"};
  StatusOr<RuleRecord> created = catalog->CreateRule(file_rule);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->source, "file");
  EXPECT_EQ(catalog->GetRule("from-api")->source, "api");
  file_rule.source = "api";  // handed over to the API
  EXPECT_EQ(catalog->UpdateRule(file_rule)->source, "api");
  EXPECT_EQ(catalog->SetRuleEnabled("from-file", false)->source, "api");
}

TEST(CatalogTest, ChannelsKeepWhoManagesThem) {
  TempDir dir;
  auto catalog = MustOpen(dir.File("c.db"));
  ASSERT_NE(catalog, nullptr);
  ASSERT_TRUE(catalog->CreateChannel({"from-api", ChannelKind::kWebhook, "{}"}).ok());
  ChannelSpec config_channel{"from-config", ChannelKind::kKafka, "{}", "config"};
  StatusOr<ChannelRecord> created = catalog->CreateChannel(config_channel);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->source, "config");
  EXPECT_EQ(catalog->GetChannel("from-api")->source, "api");
  config_channel.source = "api";
  EXPECT_EQ(catalog->UpdateChannel(config_channel)->source, "api");
}

TEST(CatalogTest, PersistsAcrossReopen) {
  TempDir dir;
  std::int64_t now = 1000;
  {
    auto catalog = MustOpen(dir.File("c.db"), FakeClock(&now));
    ASSERT_NE(catalog, nullptr);
    ASSERT_TRUE(catalog->CreateRule({"hot", "plant", R"({"q":"x"})", true}).ok());
    ASSERT_TRUE(catalog->CreateChannel({"ops", ChannelKind::kAlertmanager, "{}"}).ok());
    ASSERT_TRUE(catalog->CreateContinuousQuery("plant", "cq1", "CREATE CONTINUOUS QUERY ...").ok());
  }
  for (Durability durability : {Durability::kFull, Durability::kNormal}) {
    CatalogOptions options = FakeClock(&now);
    options.durability = durability;
    auto catalog = MustOpen(dir.File("c.db"), options);
    ASSERT_NE(catalog, nullptr);
    StatusOr<RuleRecord> rule = catalog->GetRule("hot");
    ASSERT_TRUE(rule.ok()) << rule.status().ToString();
    EXPECT_EQ(rule->definition, R"({"q":"x"})");
    EXPECT_EQ(rule->created_at, 1000);
    EXPECT_EQ(catalog->GetChannel("ops")->kind, ChannelKind::kAlertmanager);
    EXPECT_EQ(catalog->GetContinuousQuery("plant", "cq1")->text, "CREATE CONTINUOUS QUERY ...");
  }
}

// ---- migrations ----

constexpr CatalogMigration kFakeV2{
    "v2 (test only): a new table and a new column",
    "CREATE TABLE fake_v2 (x INTEGER NOT NULL); ALTER TABLE rules ADD COLUMN note TEXT;"};

std::vector<CatalogMigration> WithFakeV2() {
  std::vector<CatalogMigration> all(CatalogMigrations().begin(), CatalogMigrations().end());
  all.push_back(kFakeV2);
  return all;
}

TEST(CatalogMigrationTest, UpgradesFromEveryEarlierVersion) {
  const std::vector<CatalogMigration> all = WithFakeV2();
  for (std::size_t from = 0; from < all.size(); ++from) {
    SCOPED_TRACE("from version " + std::to_string(from));
    TempDir dir;
    const std::string path = dir.File("c.db");
    {
      // The file an older build left: its migrations only, and a rule written with the
      // columns every version has. (This build's statements need the newest schema, so
      // an older file is made with plain SQL, as the older build would have.)
      RawDb old(path);
      for (std::size_t i = 0; i < from; ++i) {
        ASSERT_EQ(old.Exec(std::string(all[i].sql)), SQLITE_OK) << all[i].description;
      }
      ASSERT_EQ(old.Exec("PRAGMA user_version = " + std::to_string(from)), SQLITE_OK);
      if (from > 0) {
        ASSERT_EQ(old.Exec("INSERT INTO rules (name, db, definition, enabled, version, "
                           "created_at, updated_at) VALUES ('kept', 'plant', '{}', 1, 1, 0, 0)"),
                  SQLITE_OK);
      }
    }
    CatalogOptions newest;
    newest.migrations = all;
    auto catalog = MustOpen(path, newest);
    ASSERT_NE(catalog, nullptr);
    EXPECT_EQ(*catalog->SchemaVersion(), static_cast<std::int64_t>(all.size()));
    EXPECT_EQ(catalog->GetRule("kept").ok(), from > 0);
    if (from > 0) {
      EXPECT_EQ(catalog->GetRule("kept")->source, "api");  // v2's default
    }
    ASSERT_TRUE(catalog->CreateRule({"new", "plant", "{}", true}).ok());
    catalog.reset();
    RawDb raw(path);
    EXPECT_EQ(raw.Exec("INSERT INTO fake_v2 (x) VALUES (1)"), SQLITE_OK);
    EXPECT_EQ(raw.Text("SELECT COUNT(note) FROM rules"), "0");
  }
}

TEST(CatalogMigrationTest, FailedMigrationLeavesThePreviousVersion) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  ASSERT_NE(MustOpen(path), nullptr);
  std::vector<CatalogMigration> broken(CatalogMigrations().begin(), CatalogMigrations().end());
  // The first statement succeeds, the second fails: neither may stay.
  broken.push_back({"v2 broken", "CREATE TABLE half (x INTEGER); CREATE TABLE oops (;"});
  CatalogOptions options;
  options.migrations = broken;
  StatusOr<std::unique_ptr<Catalog>> failed = Catalog::Open(path, options);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("v2 broken"));
  RawDb raw(path);
  EXPECT_EQ(raw.Text("PRAGMA user_version"), std::to_string(CatalogMigrations().size()));
  EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'"), "0");
}

TEST(CatalogMigrationTest, RefusesANewerSchema) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  ASSERT_NE(MustOpen(path), nullptr);
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("PRAGMA user_version = 99"), SQLITE_OK);
  }
  StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(path);
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(catalog.status().message(), HasSubstr("schema version 99 is newer"));
}

// ---- failure modes at Open and under contention ----

TEST(CatalogOpenTest, GarbageFileIsDataLoss) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 512; ++i) out << "this is not a database ";
  }
  StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(path);
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(catalog.status().message(), HasSubstr(path));
  EXPECT_THAT(catalog.status().message(), HasSubstr("not a database"));
}

TEST(CatalogOpenTest, DamagedPagesAreDataLoss) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  {
    auto catalog = MustOpen(path);
    ASSERT_NE(catalog, nullptr);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(
          catalog->CreateRule({"rule-" + std::to_string(i), "plant", std::string(300, 'x'), true})
              .ok());
    }
  }  // the last connection checkpoints the WAL into the main file
  const auto size = std::filesystem::file_size(path);
  ASSERT_GT(size, 4096u * 3);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);  // page 2 onwards; page 1 (the header and schema) stays intact
    const std::string junk(static_cast<std::size_t>(size) - 4096, '\xA5');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(path);
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().code(), StatusCode::kDataLoss) << catalog.status().ToString();
}

TEST(CatalogOpenTest, UnwritableLocationIsAClearError) {
  TempDir dir;
  { std::ofstream(dir.File("plain-file")) << "x"; }
  // A path through a regular file fails for every user, root included.
  StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(dir.File("plain-file/c.db"));
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().code(), StatusCode::kInternal);
  EXPECT_THAT(catalog.status().message(), HasSubstr("plain-file/c.db"));
  EXPECT_THAT(catalog.status().message(), HasSubstr("unable to open"));
  EXPECT_THAT(catalog.status().message(), HasSubstr("plain-file is not a directory"));

  catalog = Catalog::Open(dir.File("missing/c.db"));
  ASSERT_FALSE(catalog.ok());
  EXPECT_THAT(catalog.status().message(), HasSubstr("missing does not exist"));
}

TEST(CatalogOpenTest, ReadOnlyDirectoryIsAClearError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  TempDir dir;
  std::filesystem::permissions(
      dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(dir.File("c.db"));
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().code(), StatusCode::kInternal);
  EXPECT_THAT(catalog.status().message(), HasSubstr("Permission denied"));
}

TEST(CatalogOpenTest, BusyBeyondTheTimeoutIsUnavailable) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  CatalogOptions options;
  options.busy_timeout = std::chrono::milliseconds(20);
  auto catalog = MustOpen(path, options);
  ASSERT_NE(catalog, nullptr);
  RawDb other(path);
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);  // holds the write lock
  StatusOr<RuleRecord> busy = catalog->CreateRule({"r", "plant", "{}", true});
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), StatusCode::kUnavailable) << busy.status().ToString();
  EXPECT_TRUE(catalog->ListRules().ok());  // readers are not blocked in WAL mode
  ASSERT_EQ(other.Exec("COMMIT"), SQLITE_OK);
  EXPECT_TRUE(catalog->CreateRule({"r", "plant", "{}", true}).ok());
}

// ---- rules ----

TEST(CatalogRulesTest, CrudWithVersions) {
  TempDir dir;
  std::int64_t now = 100;
  auto catalog = MustOpen(dir.File("c.db"), FakeClock(&now));
  ASSERT_NE(catalog, nullptr);

  StatusOr<RuleRecord> created = catalog->CreateRule({"hot", "plant", "{}", true});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_GT(created->id, 0);
  EXPECT_EQ(created->version, 1);
  EXPECT_EQ(created->created_at, 100);
  EXPECT_EQ(created->updated_at, 100);

  now = 200;
  StatusOr<RuleRecord> updated = catalog->UpdateRule({"hot", "plant2", R"({"v":2})", true});
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->id, created->id);
  EXPECT_EQ(updated->version, 2);
  EXPECT_EQ(updated->db, "plant2");
  EXPECT_EQ(updated->created_at, 100);
  EXPECT_EQ(updated->updated_at, 200);

  now = 300;
  StatusOr<RuleRecord> disabled = catalog->SetRuleEnabled("hot", false);
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->enabled);
  EXPECT_EQ(disabled->version, 3);
  EXPECT_EQ(*catalog->GetRule("hot"), *disabled);

  ASSERT_TRUE(catalog->CreateRule({"cold", "plant", "{}", false}).ok());
  StatusOr<std::vector<RuleRecord>> all = catalog->ListRules();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "cold");
  EXPECT_EQ((*all)[1].name, "hot");

  EXPECT_TRUE(catalog->DeleteRule("hot").ok());
  EXPECT_EQ(catalog->GetRule("hot").status().code(), StatusCode::kNotFound);
  // Ids are never reused, so audit rows of the deleted rule stay unambiguous.
  StatusOr<RuleRecord> again = catalog->CreateRule({"hot", "plant", "{}", true});
  ASSERT_TRUE(again.ok());
  EXPECT_GT(again->id, all->back().id);
}

TEST(CatalogRulesTest, DuplicatesAndMissingRows) {
  TempDir dir;
  auto catalog = MustOpen(dir.File("c.db"));
  ASSERT_NE(catalog, nullptr);
  ASSERT_TRUE(catalog->CreateRule({"x", "plant", "{}", true}).ok());
  StatusOr<RuleRecord> dup = catalog->CreateRule({"x", "other", "{}", true});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(dup.status().message(), "rule \"x\" already exists");
  EXPECT_EQ(catalog->CreateRule({"", "plant", "{}", true}).status().code(),
            StatusCode::kInvalidArgument);

  const Status missing = catalog->UpdateRule({"nope", "plant", "{}", true}).status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "rule \"nope\" does not exist");
  EXPECT_EQ(catalog->SetRuleEnabled("nope", true).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(catalog->GetRule("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(catalog->DeleteRule("nope").code(), StatusCode::kNotFound);
}

TEST(CatalogRulesTest, HostileTextIsStoredVerbatim) {
  TempDir dir;
  auto catalog = MustOpen(dir.File("c.db"));
  ASSERT_NE(catalog, nullptr);
  const std::string name = "x'); DROP TABLE rules; --";
  const std::string definition =
      std::string("quote ' \" nul \0 byte", 20) + std::string(1 << 20, 'z');
  ASSERT_TRUE(catalog->CreateRule({name, "pl\"ant", definition, true}).ok());
  StatusOr<RuleRecord> rule = catalog->GetRule(name);
  ASSERT_TRUE(rule.ok()) << rule.status().ToString();
  EXPECT_EQ(rule->db, "pl\"ant");
  EXPECT_EQ(rule->definition, definition);
  EXPECT_EQ(catalog->ListRules()->size(), 1u);
}

// ---- continuous queries ----

TEST(CatalogContinuousQueriesTest, Crud) {
  TempDir dir;
  std::int64_t now = 5;
  auto catalog = MustOpen(dir.File("c.db"), FakeClock(&now));
  ASSERT_NE(catalog, nullptr);
  StatusOr<ContinuousQueryRecord> cq = catalog->CreateContinuousQuery("plant", "down", "Q1");
  ASSERT_TRUE(cq.ok());
  EXPECT_EQ(*cq, (ContinuousQueryRecord{"plant", "down", "Q1", 5}));
  // Names are unique per database.
  ASSERT_TRUE(catalog->CreateContinuousQuery("lab", "down", "Q2").ok());
  const Status dup = catalog->CreateContinuousQuery("plant", "down", "Q3").status();
  EXPECT_EQ(dup.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(dup.message(), "continuous query \"down\" on database \"plant\" already exists");
  EXPECT_EQ(catalog->CreateContinuousQuery("plant", "", "Q").status().code(),
            StatusCode::kInvalidArgument);

  StatusOr<std::vector<ContinuousQueryRecord>> all = catalog->ListContinuousQueries();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].db, "lab");
  EXPECT_EQ((*all)[1].text, "Q1");

  EXPECT_TRUE(catalog->DeleteContinuousQuery("plant", "down").ok());
  EXPECT_EQ(catalog->DeleteContinuousQuery("plant", "down").code(), StatusCode::kNotFound);
  EXPECT_EQ(catalog->GetContinuousQuery("plant", "down").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(catalog->GetContinuousQuery("lab", "down").ok());
}

// ---- channels ----

TEST(CatalogChannelsTest, Crud) {
  TempDir dir;
  std::int64_t now = 7;
  auto catalog = MustOpen(dir.File("c.db"), FakeClock(&now));
  ASSERT_NE(catalog, nullptr);
  for (ChannelKind kind :
       {ChannelKind::kWebhook, ChannelKind::kAlertmanager, ChannelKind::kKafka}) {
    const std::string name(ChannelKindName(kind));
    StatusOr<ChannelRecord> created = catalog->CreateChannel({name, kind, "{\"n\":1}"});
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    EXPECT_EQ(*created, (ChannelRecord{name, kind, "{\"n\":1}", 7, 7}));
    EXPECT_EQ(ParseChannelKind(name), kind);
  }
  EXPECT_EQ(ParseChannelKind("smoke-signal"), std::nullopt);
  const Status dup = catalog->CreateChannel({"kafka", ChannelKind::kWebhook, "{}"}).status();
  EXPECT_EQ(dup.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(dup.message(), "channel \"kafka\" already exists");

  now = 8;
  StatusOr<ChannelRecord> updated = catalog->UpdateChannel({"kafka", ChannelKind::kWebhook, "{}"});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(*updated, (ChannelRecord{"kafka", ChannelKind::kWebhook, "{}", 7, 8}));
  EXPECT_EQ(catalog->UpdateChannel({"nope", ChannelKind::kWebhook, "{}"}).status().code(),
            StatusCode::kNotFound);

  StatusOr<std::vector<ChannelRecord>> all = catalog->ListChannels();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "alertmanager");
  EXPECT_TRUE(catalog->DeleteChannel("webhook").ok());
  EXPECT_EQ(catalog->DeleteChannel("webhook").code(), StatusCode::kNotFound);
  EXPECT_EQ(catalog->GetChannel("webhook").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tidewatch::rules
