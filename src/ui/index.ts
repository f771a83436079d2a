export { App } from './App';
export { ResultsView } from './ResultsView';
export { Inspector } from './Inspector';
export { Presentation } from './Presentation';
