ALTER TABLE "webhook_deliveries" ADD COLUMN "acknowledged_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "acknowledged_via" text;--> statement-breakpoint
CREATE INDEX "webhook_events_erasure_customer_idx" ON "webhook_events" USING btree (("payload"->>'customerId')) WHERE "webhook_events"."type" = 'customer.erasure_requested';