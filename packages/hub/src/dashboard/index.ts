export { ClientModules, MODULES_PATH } from './client-modules.js';
export {
  type DashboardOptions,
  dashboardContentSecurityPolicy,
  renderDashboard,
} from './render-dashboard.js';
