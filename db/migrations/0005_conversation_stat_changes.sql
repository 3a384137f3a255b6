CREATE TABLE "conversation_stat_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"day" date NOT NULL,
	"channel" "conversation_channel" NOT NULL,
	"status" "conversation_status" NOT NULL,
	"delta" integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX "conversation_stat_changes_day_idx" ON "conversation_stat_changes" USING btree ("day");