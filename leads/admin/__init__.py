"""The leads' admin, one module per page or model; importing the package registers them on the admin site.

lead (the leads), agent (the agents, with their loads), audit (runs and assignment history), status_history
(every lead's changes of status), api_key (the intake API's keys), notification (the agents' emails), routing
(the routing rules) with where (their "Where would a lead go?" page), sla (the SLA policies), and the pieces they
use: classification and actions (the lead changelist's class and assignment actions), overview and workspace (the
pages that crm.admin_site.CrmAdminSite adds: Lead overview, My leads, the Workspace navigation).
"""

from leads.admin import agent, api_key, audit, lead, notification, routing, sla, status_history

__all__ = ["agent", "api_key", "audit", "lead", "notification", "routing", "sla", "status_history"]
