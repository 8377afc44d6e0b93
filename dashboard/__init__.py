"""The Streamlit dashboard (UI only): pages call dashboard.data, which calls tracker."""
