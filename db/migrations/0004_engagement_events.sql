CREATE TABLE "engagement_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"customer_id" uuid NOT NULL,
	"type" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"properties" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"external_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "engagement_events" ADD CONSTRAINT "engagement_events_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "engagement_events_customer_external_id_idx" ON "engagement_events" USING btree ("customer_id","external_id") WHERE "engagement_events"."external_id" is not null;--> statement-breakpoint
CREATE INDEX "engagement_events_customer_occurred_idx" ON "engagement_events" USING btree ("customer_id","occurred_at" desc,"id" desc);--> statement-breakpoint
CREATE INDEX "engagement_events_customer_type_occurred_idx" ON "engagement_events" USING btree ("customer_id","type","occurred_at" desc,"id" desc);