export {
  DASHBOARD_CONTENT_SECURITY_POLICY,
  type DashboardOptions,
  renderDashboard,
} from './render-dashboard.js';
